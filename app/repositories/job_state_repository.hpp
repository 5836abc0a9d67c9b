#pragma once

#include <string_view>

#include "config/job_state.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::repositories {

// Job run records in the system collection `_jobs`, one document per job
// (id: the job's name), so every instance reports the cluster's last run.
// Writes are unconditional: one instance at a time runs a job (its running
// marker), and it alone writes that job's record.
//
// Thread-safe; calls block on disk (run threads and workers only).
class JobStateRepository final : public config::JobStateStore {
public:
    static constexpr std::string_view kCollection = "_jobs";

    explicit JobStateRepository(DocumentRepository& documents) : documents_(documents) {}

    tl::expected<std::optional<config::JobRunRecord>, std::string> load(
        std::string_view job) override;
    tl::expected<void, std::string> save(const config::JobRunRecord& record) override;

private:
    DocumentRepository& documents_;
};

}  // namespace nexu::repositories
