#include "config/scheduler.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include <catch2/catch.hpp>

using namespace nexu::config;
using namespace std::chrono_literals;

namespace {

// Leases in memory, with the same rules as the data directory's.
class MemoryLeases final : public JobLeases {
public:
    Outcome claim_slot(std::string_view job, std::int64_t slot) override {
        std::lock_guard lock{mutex_};
        return slots_.insert({std::string{job}, slot}).second ? Outcome::won : Outcome::taken;
    }
    Outcome start_run(std::string_view job,
                      std::chrono::system_clock::time_point expires,
                      std::string& token) override {
        std::lock_guard lock{mutex_};
        auto& marker = running_[std::string{job}];
        if (marker && *marker > std::chrono::system_clock::now()) return Outcome::taken;
        marker = expires;
        token.assign(1, 't');  // not = "t": g++ 12 -Wrestrict false positive
        return Outcome::won;
    }
    void renew_run(std::string_view job,
                   const std::string&,
                   std::chrono::system_clock::time_point expires) override {
        std::lock_guard lock{mutex_};
        running_[std::string{job}] = expires;
    }
    void finish_run(std::string_view job, const std::string&) override {
        std::lock_guard lock{mutex_};
        running_[std::string{job}].reset();
    }
    void hold_elsewhere(const std::string& job) {
        std::lock_guard lock{mutex_};
        running_[job] = std::chrono::system_clock::now() + 1h;
    }
    std::size_t slot_count() {
        std::lock_guard lock{mutex_};
        return slots_.size();
    }

private:
    std::mutex mutex_;
    std::set<std::pair<std::string, std::int64_t>> slots_;
    std::map<std::string, std::optional<std::chrono::system_clock::time_point>> running_;
};

class MemoryState final : public JobStateStore {
public:
    tl::expected<std::optional<JobRunRecord>, std::string> load(std::string_view job) override {
        std::lock_guard lock{mutex_};
        const auto found = records_.find(std::string{job});
        if (found == records_.end()) return std::optional<JobRunRecord>{};
        return std::optional<JobRunRecord>{found->second};
    }
    tl::expected<void, std::string> save(const JobRunRecord& record) override {
        std::lock_guard lock{mutex_};
        records_[record.name] = record;
        return {};
    }

private:
    std::mutex mutex_;
    std::map<std::string, JobRunRecord> records_;
};

// A job that blocks until released (or stopped) and counts its runs.
struct GatedJob {
    std::mutex mutex;
    std::condition_variable_any changed;  // wakes on the run's stop token too
    bool is_released = false;
    int started = 0;
    int finished = 0;
    bool saw_stop = false;

    JobDefinition definition(std::string name) {
        return {std::move(name),
                [this](const JobContext& context) {
                    std::unique_lock lock{mutex};
                    ++started;
                    changed.notify_all();
                    context.progress("halfway");
                    changed.wait_for(lock, context.stop, 10s, [&] { return is_released; });
                    saw_stop = context.stop.stop_requested();
                    ++finished;
                    changed.notify_all();
                    return JobOutcome{!saw_stop, saw_stop ? "stopped" : "done"};
                },
                {}};
    }
    template <class Predicate>
    bool wait_until(Predicate predicate) {
        std::unique_lock lock{mutex};
        return changed.wait_for(lock, 10s, predicate);
    }
    void release() {
        std::lock_guard lock{mutex};
        is_released = true;
        changed.notify_all();
    }
};

template <class Predicate>
bool eventually(Predicate predicate) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return predicate();
}

}  // namespace

TEST_CASE("jitter stays within its share of the period, its cap and the slot",
          "[config][scheduler]") {
    CHECK(Scheduler::max_jitter(600s, 0.1, 300s) == 60'000ms);
    CHECK(Scheduler::max_jitter(24h, 0.1, 300s) == 300'000ms);  // capped
    CHECK(Scheduler::max_jitter(2s, 0.5, 300s) == 1'000ms);
    CHECK(Scheduler::max_jitter(1s, 1.0, 300s) == 999ms);  // never reaches the next slot
    CHECK(Scheduler::max_jitter(600s, 0.0, 300s) == 0ms);
    CHECK(Scheduler::max_jitter(0s, 0.1, 300s) == 0ms);
}

TEST_CASE("a manual run runs the job on its own thread and records the result",
          "[config][scheduler]") {
    MemoryLeases leases;
    MemoryState state;
    GatedJob job;
    Scheduler scheduler{{}, leases, state};
    scheduler.add(job.definition("integrity"));
    scheduler.start();
    CHECK(scheduler.run_now("nope") == Scheduler::RunRequest::unknown_job);
    REQUIRE(scheduler.run_now("integrity") == Scheduler::RunRequest::started);
    REQUIRE(job.wait_until([&] { return job.started == 1; }));
    // One run at a time, here and (through the marker) anywhere.
    CHECK(scheduler.run_now("integrity") == Scheduler::RunRequest::already_running);
    auto status = scheduler.status();
    REQUIRE(status);
    CHECK(status->at(0).running);
    CHECK(status->at(0).progress == "halfway");
    job.release();
    REQUIRE(eventually([&] {
        auto now = state.load("integrity");
        return now && *now && (*now)->runs == 1 && !(*now)->running;
    }));
    const auto record = *state.load("integrity").value();
    CHECK(record.last_result == "ok");
    CHECK(record.last_summary == "done");
    CHECK(record.last_trigger == "manual");
    CHECK(record.last_start.has_value());
    REQUIRE(eventually(
        [&] { return scheduler.run_now("integrity") == Scheduler::RunRequest::started; }));
    REQUIRE(eventually([&] { return state.load("integrity").value()->runs == 2; }));
}

TEST_CASE("a job running on another instance is not started here", "[config][scheduler]") {
    MemoryLeases leases;
    MemoryState state;
    GatedJob job;
    Scheduler scheduler{{}, leases, state};
    scheduler.add(job.definition("reindex"));
    scheduler.start();
    leases.hold_elsewhere("reindex");
    CHECK(scheduler.run_now("reindex") == Scheduler::RunRequest::already_running);
    CHECK(job.started == 0);
}

TEST_CASE("a run past its timeout is asked to stop and recorded as timed out",
          "[config][scheduler]") {
    MemoryLeases leases;
    MemoryState state;
    GatedJob job;
    SchedulerSettings settings;
    settings.run_timeout = 1s;
    Scheduler scheduler{settings, leases, state};
    scheduler.add(job.definition("integrity"));
    scheduler.start();
    REQUIRE(scheduler.run_now("integrity") == Scheduler::RunRequest::started);
    REQUIRE(job.wait_until([&] { return job.finished == 1; }));
    CHECK(job.saw_stop);
    REQUIRE(eventually([&] {
        auto now = state.load("integrity");
        return now && *now && (*now)->runs == 1;
    }));
    CHECK(state.load("integrity").value()->last_result == "timed out");
}

TEST_CASE("stop asks running jobs to stop and joins them", "[config][scheduler]") {
    MemoryLeases leases;
    MemoryState state;
    GatedJob job;
    {
        Scheduler scheduler{{}, leases, state};
        scheduler.add(job.definition("integrity"));
        scheduler.start();
        REQUIRE(scheduler.run_now("integrity") == Scheduler::RunRequest::started);
        REQUIRE(job.wait_until([&] { return job.started == 1; }));
        scheduler.stop();
        CHECK(job.finished == 1);
        CHECK(job.saw_stop);
        CHECK(scheduler.run_now("integrity") == Scheduler::RunRequest::unavailable);
    }
    CHECK(state.load("integrity").value()->running == false);
}

TEST_CASE("a scheduled run claims its slot and an instance that loses the slot skips it",
          "[config][scheduler]") {
    MemoryLeases leases;  // shared by both "instances"
    MemoryState state;
    std::atomic<int> runs{0};
    SchedulerSettings settings;
    settings.jitter_fraction = 0;
    settings.schedules.insert_or_assign("temp-cleanup", JobSchedule::parse("every 1s").value());
    auto job = JobDefinition{"temp-cleanup",
                             [&runs](const JobContext&) {
                                 ++runs;
                                 return JobOutcome{true, "ok"};
                             },
                             {}};
    Scheduler first{settings, leases, state};
    Scheduler second{settings, leases, state};
    first.add(job);
    second.add(job);
    first.start();
    second.start();
    REQUIRE(eventually([&] { return leases.slot_count() >= 2; }));
    first.stop();
    second.stop();
    // Every slot claimed was run once, by one of the two.
    CHECK(static_cast<std::size_t>(runs.load()) == leases.slot_count());
}

TEST_CASE("a job with unfinished work is resumed soon after start", "[config][scheduler]") {
    MemoryLeases leases;
    MemoryState state;
    std::atomic<int> runs{0};
    Scheduler scheduler{{}, leases, state};  // no schedule: only the resume can run it
    scheduler.add({"key-rotation",
                   [&runs](const JobContext&) {
                       ++runs;
                       return JobOutcome{true, "re-encrypted the rest"};
                   },
                   [] { return true; }});
    scheduler.add({"backup",
                   [](const JobContext&) {
                       return JobOutcome{true, ""};
                   },
                   [] { return false; }});
    scheduler.start();
    REQUIRE(eventually([&] {
        auto record = state.load("key-rotation");
        return record && *record && (*record)->runs == 1;
    }));
    CHECK(state.load("key-rotation").value()->last_trigger == "resume");
    scheduler.stop();
    CHECK(runs == 1);
    CHECK_FALSE(state.load("backup").value().has_value());
}
