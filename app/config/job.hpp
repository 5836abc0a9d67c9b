#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

namespace nexu::config {

// What a running job may ask of the scheduler. `stop` is requested on shutdown
// and when the run passes its timeout: a long job checks it between units of
// work and returns early (a resumable job keeps what it finished).
struct JobContext {
    std::stop_token stop;
    // A short status line ("collection notes: 4,000 of 10,000 documents"),
    // shown by GET /api/v1/system/jobs and logged at most every few seconds.
    std::function<void(std::string_view)> progress;
};

// How a run ended. `summary` is safe to show an admin and to log (counts and
// names of collections, never document contents, paths of the key or secrets).
struct JobOutcome {
    bool ok = true;
    std::string summary;
};

// One job the scheduler can run: registered in main, scheduled from config
// (NEXU_JOB_<NAME>_SCHEDULE), run now through POST /api/v1/system/jobs/{name}/run.
struct JobDefinition {
    std::string name;  // integrity, reindex, log-rotation, temp-cleanup, backup, key-rotation
    std::function<JobOutcome(const JobContext&)> run;
    // Optional: true when an earlier run stopped part-way (a crash, a timeout)
    // and left work to finish; the scheduler then runs the job soon after start.
    std::function<bool()> has_unfinished_work;
};

}  // namespace nexu::config
