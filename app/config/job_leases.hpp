#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace nexu::config {

// How the scheduler makes sure a job runs once per cluster, without knowing
// where the leases live (infrastructure::JobLease keeps them in the shared
// data directory, taken by exclusive creation, never by a lock).
//
// Implementations are thread-safe and may block on disk: the scheduler calls
// them from a job's run thread or a worker, never from its own loop.
class JobLeases {
public:
    enum class Outcome { won, taken, failed };

    virtual ~JobLeases() = default;
    // The right to run `job`'s scheduled run number `slot`: won by exactly one
    // of the instances asking. Never released (old ones are deleted later).
    virtual Outcome claim_slot(std::string_view job, std::int64_t slot) = 0;
    // Marks `job` as running here until finish_run or `expires`, whichever is
    // first; `taken` while a live marker of another run exists (any instance).
    // A marker past its expiry (a crashed instance) may be taken over. On
    // `won`, `token` names the marker for finish_run.
    virtual Outcome start_run(std::string_view job,
                              std::chrono::system_clock::time_point expires,
                              std::string& token) = 0;
    // Moves the expiry of this run's marker forward. The scheduler renews it
    // while the run goes on, so a marker left by a crashed instance stops
    // counting within one lease period instead of after the whole run timeout.
    virtual void renew_run(std::string_view job,
                           const std::string& token,
                           std::chrono::system_clock::time_point expires) = 0;
    virtual void finish_run(std::string_view job, const std::string& token) = 0;
};

}  // namespace nexu::config
