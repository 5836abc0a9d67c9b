#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "config/job_leases.hpp"
#include "domain/error.hpp"
#include "infrastructure/env.hpp"

namespace nexu::infrastructure {

// Job leases in the shared data directory, `<data>/_leases/<job>/`, taken by
// exclusive creation (create_durable: temp file, fsync, link), never by a
// lock NFS might not honour:
//   slot-<n>     the scheduled run number n of the job; whoever links it runs it.
//   running.<g>  the job is running until the expiry written inside (unix ms).
//                Generations only grow while a marker exists: a new run links
//                the next generation after the highest one, and only once that
//                one is released (removed) or expired, so of two instances
//                racing for one generation exactly one wins, and a crashed
//                instance's marker stops counting at its expiry.
//
// Thread-safe (stateless besides the paths). Every call blocks on disk.
class JobLease final : public config::JobLeases {
public:
    static constexpr std::string_view kDirName = "_leases";

    JobLease(Env& env, const std::filesystem::path& data_dir, std::string instance_id);

    Outcome claim_slot(std::string_view job, std::int64_t slot) override;
    Outcome start_run(std::string_view job,
                      std::chrono::system_clock::time_point expires,
                      std::string& token) override;
    // Rewrites our marker with the new expiry (replaced by rename, so a reader
    // sees the old or the new one whole).
    void renew_run(std::string_view job,
                   const std::string& token,
                   std::chrono::system_clock::time_point expires) override;
    void finish_run(std::string_view job, const std::string& token) override;

    // Deletes slot leases and abandoned temp files last written before
    // `older_than`, and running markers past their expiry (temp-cleanup).
    // Returns how many files went.
    Result<std::size_t> remove_old(std::chrono::system_clock::time_point older_than);

    // Slot lease names of `job` (for tests and tools).
    Result<std::vector<std::string>> slot_leases(std::string_view job);
    std::filesystem::path job_dir(std::string_view job) const;

private:
    Result<void> ensure_dirs(const std::filesystem::path& dir);

    Env& env_;
    std::filesystem::path leases_dir_;
    std::string instance_id_;
    std::string temp_tag_;
};

}  // namespace nexu::infrastructure
