#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/job.hpp"
#include "config/job_leases.hpp"
#include "config/job_schedule.hpp"
#include "config/job_state.hpp"

namespace nexu::config {

struct SchedulerSettings {
    std::string instance_id = "nexu";
    std::map<std::string, JobSchedule, std::less<>> schedules;  // by job name; absent: off
    double jitter_fraction = 0.1;                               // of the period, at most jitter_cap
    std::chrono::seconds jitter_cap{300};
    std::chrono::seconds run_timeout{3600};  // stop is requested after this
    // A running marker expires this long after its last renewal; it is
    // renewed every third of it while the run goes on.
    std::chrono::seconds marker_lease{60};
    // Jobs that act on this process only (log-rotation): every instance runs
    // each slot, so their leases are named per instance.
    std::set<std::string, std::less<>> per_instance_jobs;
};

// Runs the registered jobs on their schedules: one scheduler thread that only
// keeps time, and one thread per run, so a job never blocks the loop, an io
// thread or a worker. A scheduled run first claims its slot lease (exactly one
// instance of the cluster wins it), then the job's running marker (no two runs
// of one job at once, on any instance); a manual run takes the marker only.
// A run gets its stop token requested at the timeout and on stop(); its
// result is written to the JobStateStore and to the metrics
// nexu_job_runs_total{job,result}, nexu_job_duration_seconds{job},
// nexu_job_running{job}.
//
// Thread-safe after start(). add() before start(). stop() (or the destructor)
// requests every running job to stop and joins every thread.
class Scheduler {
public:
    using SystemClock = std::chrono::system_clock;

    Scheduler(SchedulerSettings settings, JobLeases& leases, JobStateStore& state);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    void add(JobDefinition job);
    void start();
    void stop();

    enum class RunRequest { started, unknown_job, already_running, unavailable };
    // Starts `name` now on its own thread. Blocks on the lease (disk): call
    // from a worker.
    RunRequest run_now(std::string_view name);

    struct JobStatus {
        std::string name;
        std::string schedule;
        std::optional<SystemClock::time_point> next_run;
        bool running = false;  // here or on another instance (a live record)
        std::string progress;
        std::optional<JobRunRecord> record;
    };
    // Every job, in name order, with the cluster's last run. Blocks on disk.
    tl::expected<std::vector<JobStatus>, std::string> status();
    bool has_job(std::string_view name) const;

    // The largest jitter for a run `period` apart: `fraction` of it, at most
    // `cap`, and always less than the period so a run stays in its slot.
    static std::chrono::milliseconds max_jitter(std::chrono::seconds period,
                                                double fraction,
                                                std::chrono::seconds cap);

private:
    enum class Trigger { schedule, manual, resume };
    struct Entry {
        JobDefinition job;
        JobSchedule schedule = JobSchedule::off();
        std::optional<SystemClock::time_point> next_fire;  // the scheduled time (the slot)
        SystemClock::time_point due;                       // next_fire plus this instance's jitter
        bool is_running = false;
        bool is_timed_out = false;
        std::stop_source stop;
        std::chrono::steady_clock::time_point deadline;
        std::string progress;
        std::thread thread;
        // Unfinished work to resume (found at start): retried while another
        // run holds the job, e.g. the marker of a run this instance was
        // killed in, until that marker expires.
        bool is_resume_pending = false;
        std::chrono::steady_clock::time_point resume_at;
    };

    static const char* trigger_name(Trigger trigger);
    std::string lease_name(const Entry& entry) const;
    void loop();
    void plan_next(Entry& entry, SystemClock::time_point after);
    // Reserves the entry and starts its run thread. Called with mutex_ held.
    void launch(Entry& entry, Trigger trigger, std::optional<std::int64_t> slot, std::string token);
    // The run thread's body.
    void run(Entry& entry, Trigger trigger, std::optional<std::int64_t> slot, std::string token);
    void execute(Entry& entry,
                 Trigger trigger,
                 const std::string& token,
                 std::optional<std::int64_t> slot);
    void note_progress(Entry& entry, std::string_view line);
    SystemClock::time_point marker_expiry() const;

    SchedulerSettings settings_;
    JobLeases& leases_;
    JobStateStore& state_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
    std::mt19937_64 random_;
    bool is_started_ = false;
    bool is_stopping_ = false;
    std::thread loop_thread_;
};

}  // namespace nexu::config
