#pragma once

#include <chrono>
#include <string>

#include "config/job.hpp"
#include "config/logger.hpp"
#include "infrastructure/job_lease.hpp"
#include "infrastructure/store.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/field_indexes.hpp"
#include "repositories/file_repository.hpp"
#include "repositories/system_report.hpp"

namespace nexu::repositories {

// The maintenance jobs the scheduler runs (issue 9), as thin adapters over
// the store, the blob store, the field indexes, the leases and the logger:
//   integrity     Store::verify() and every file blob read back and
//                 authenticated; findings logged one line each (collection
//                 and object, never contents), counted in
//                 nexu_integrity_findings / nexu_integrity_runs_total and kept
//                 for /api/v1/system/info. A run with findings fails.
//   reindex       FieldIndexes::reindex_all, then a checkpoint of every
//                 collection with commits since its last one.
//   temp-cleanup  Store and file garbage collection (temp files only past
//                 their grace, never .nfs*), and old job leases.
//   log-rotation  rotates this instance's log file by age, deletes old ones.
// Each job checks its stop token between units of work. `files`,
// `field_indexes` and `collections` may be null (not wired).
class MaintenanceJobs {
public:
    struct Parts {
        infrastructure::Store* store = nullptr;
        SystemReport* report = nullptr;
        infrastructure::JobLease* leases = nullptr;
        FileRepository* files = nullptr;
        FieldIndexes* field_indexes = nullptr;
        CollectionRepository* collections = nullptr;
        config::LogSettings log;
        std::chrono::seconds lease_retention{2 * 24 * 3600};
    };

    explicit MaintenanceJobs(Parts parts) : parts_(std::move(parts)) {}

    config::JobDefinition integrity();
    config::JobDefinition reindex();
    config::JobDefinition temp_cleanup();
    config::JobDefinition log_rotation();

private:
    config::JobOutcome run_integrity(const config::JobContext& context);
    config::JobOutcome run_reindex(const config::JobContext& context);
    config::JobOutcome run_temp_cleanup(const config::JobContext& context);
    config::JobOutcome run_log_rotation(const config::JobContext& context);

    Parts parts_;
};

}  // namespace nexu::repositories
