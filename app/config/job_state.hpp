#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace nexu::config {

// What the cluster knows of a job's runs: one record per job, written by the
// instance that ran it (one at a time: the running marker), read by every
// instance for GET /api/v1/system/jobs.
struct JobRunRecord {
    using TimePoint = std::chrono::system_clock::time_point;

    std::string name;
    std::optional<TimePoint> last_start;
    double last_duration_s = 0;
    std::string last_result;  // "ok", "failed", "timed out"; empty before the first run
    std::string last_summary;
    std::string last_instance;
    std::string last_trigger;  // "schedule", "manual", "resume"
    std::uint64_t runs = 0;
    bool running = false;
    std::string running_instance;
    std::optional<TimePoint> running_since;
    std::optional<TimePoint> running_expires;  // a crashed run stops counting after this
    std::string progress;
};

// Where job records live (repositories::JobStateRepository: the system
// collection `_jobs`). Thread-safe; calls block on disk.
class JobStateStore {
public:
    virtual ~JobStateStore() = default;
    // nullopt when the job never ran; an error message when unreadable.
    virtual tl::expected<std::optional<JobRunRecord>, std::string> load(std::string_view job) = 0;
    virtual tl::expected<void, std::string> save(const JobRunRecord& record) = 0;
};

}  // namespace nexu::config
