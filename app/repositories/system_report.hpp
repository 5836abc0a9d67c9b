#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "infrastructure/env.hpp"
#include "infrastructure/store.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::repositories {

// What GET /api/v1/system/info shows besides the process: storage statistics
// per collection, and the last integrity result (kept in the system
// collection `_integrity`, so every instance shows the cluster's last run).
//
// Thread-safe; every call blocks on disk (workers and job threads only).
class SystemReport {
public:
    static constexpr std::string_view kIntegrityCollection = "_integrity";
    static constexpr std::size_t kMaxListedFindings = 100;

    struct CollectionStatistics {
        std::string name;
        std::size_t documents = 0;
        std::uint64_t bytes = 0;  // on disk: CURRENT, commit files, checkpoints
        std::uint64_t seq = 0;    // the newest commit's seq (the generation)
        std::string error;        // empty, or why the counts are missing ("corrupt_object")
    };

    SystemReport(infrastructure::Store& store,
                 DocumentRepository& documents,
                 infrastructure::Env& env,
                 std::filesystem::path data_dir)
        : store_(store), documents_(documents), env_(env), data_dir_(std::move(data_dir)) {}

    // One entry per collection; a damaged or unreadable collection gets its
    // error code instead of counts, the others are still reported.
    Result<std::vector<CollectionStatistics>> statistics();

    // The integrity job's result: {"checked_at","ok","findings","listed":[...],...}.
    Result<void> save_integrity(nlohmann::json result);
    // null when no integrity run has finished yet.
    Result<nlohmann::json> last_integrity() const;

private:
    std::uint64_t bytes_under(const std::filesystem::path& dir, int depth);

    infrastructure::Store& store_;
    DocumentRepository& documents_;
    infrastructure::Env& env_;
    std::filesystem::path data_dir_;
};

}  // namespace nexu::repositories
