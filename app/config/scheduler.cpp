#include "config/scheduler.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

#include "config/metrics.hpp"

namespace nexu::config {

namespace {

// How soon a resume held off by another run's marker is tried again.
constexpr auto kResumeRetry = std::chrono::seconds{5};
constexpr int kJobNice = 10;

constexpr auto kLoopTick = std::chrono::milliseconds{250};
constexpr auto kProgressSaveEvery = std::chrono::seconds{2};
constexpr auto kProgressLogEvery = std::chrono::seconds{5};
constexpr std::size_t kMaxProgressChars = 200;

void describe_metrics() {
    auto& registry = metrics::registry();
    registry.describe("nexu_job_runs_total", "Job runs by job and result (ok, failed, timed_out).");
    registry.describe("nexu_job_duration_seconds", "Duration of job runs.");
    registry.describe("nexu_job_running",
                      "1 while a run of the job is under way on this instance.");
}

}  // namespace

Scheduler::Scheduler(SchedulerSettings settings, JobLeases& leases, JobStateStore& state)
    : settings_(std::move(settings)),
      leases_(leases),
      state_(state),
      random_(std::random_device{}()) {
    describe_metrics();
}

Scheduler::~Scheduler() {
    stop();
}

const char* Scheduler::trigger_name(Trigger trigger) {
    switch (trigger) {
        case Trigger::schedule:
            return "schedule";
        case Trigger::manual:
            return "manual";
        case Trigger::resume:
            break;
    }
    return "resume";
}

std::string Scheduler::lease_name(const Entry& entry) const {
    if (settings_.per_instance_jobs.count(entry.job.name) == 0) return entry.job.name;
    return entry.job.name + "." + settings_.instance_id;
}

std::chrono::milliseconds Scheduler::max_jitter(std::chrono::seconds period,
                                                double fraction,
                                                std::chrono::seconds cap) {
    using std::chrono::milliseconds;
    if (period.count() <= 0 || fraction <= 0) return milliseconds{0};
    const auto period_ms = std::chrono::duration_cast<milliseconds>(period);
    auto bound =
        milliseconds{static_cast<std::int64_t>(static_cast<double>(period_ms.count()) * fraction)};
    bound = std::min(bound, std::chrono::duration_cast<milliseconds>(cap));
    // Strictly inside the period: the run must not reach the next slot.
    return std::min(bound, period_ms - milliseconds{1});
}

void Scheduler::add(JobDefinition job) {
    std::lock_guard lock{mutex_};
    auto entry = std::make_unique<Entry>();
    if (const auto found = settings_.schedules.find(job.name); found != settings_.schedules.end()) {
        entry->schedule = found->second;
    }
    metrics::registry().gauge("nexu_job_running", {{"job", job.name}}).set(0);
    entry->job = std::move(job);
    const auto name = entry->job.name;
    entries_[name] = std::move(entry);
}

bool Scheduler::has_job(std::string_view name) const {
    std::lock_guard lock{mutex_};
    return entries_.find(name) != entries_.end();
}

void Scheduler::plan_next(Entry& entry, SystemClock::time_point after) {
    entry.next_fire = entry.schedule.next_after(after);
    if (!entry.next_fire) return;
    const auto bound = max_jitter(entry.schedule.period_after(*entry.next_fire),
                                  settings_.jitter_fraction, settings_.jitter_cap);
    std::chrono::milliseconds jitter{0};
    if (bound.count() > 0) {
        jitter = std::chrono::milliseconds{
            std::uniform_int_distribution<std::int64_t>{0, bound.count()}(random_)};
    }
    entry.due = *entry.next_fire + jitter;
}

void Scheduler::start() {
    std::lock_guard lock{mutex_};
    if (is_started_) return;
    is_started_ = true;
    const auto now = SystemClock::now();
    for (auto& [name, entry] : entries_) plan_next(*entry, now);
    loop_thread_ = std::thread([this] { loop(); });
    spdlog::info("scheduler: started with {} jobs", entries_.size());
}

void Scheduler::stop() {
    {
        std::lock_guard lock{mutex_};
        if (!is_started_ || is_stopping_) return;
        is_stopping_ = true;
        for (auto& [name, entry] : entries_) {
            if (entry->is_running) entry->stop.request_stop();
        }
    }
    wake_.notify_all();
    if (loop_thread_.joinable()) loop_thread_.join();
    // Run threads are only started under the mutex while not stopping, so the
    // set of threads is final here.
    for (auto& [name, entry] : entries_) {
        if (entry->thread.joinable()) {
            if (entry->is_running) spdlog::info("scheduler: waiting for job {} to stop", name);
            entry->thread.join();
        }
    }
    spdlog::info("scheduler: stopped");
}

void Scheduler::loop() {
    // Jobs that stopped part-way (a crash, a timeout) run again soon after start.
    std::vector<Entry*> to_resume;
    {
        std::lock_guard lock{mutex_};
        for (auto& [name, entry] : entries_) {
            if (entry->job.has_unfinished_work) to_resume.push_back(entry.get());
        }
    }
    for (Entry* entry : to_resume) {
        bool unfinished = false;
        try {
            unfinished = entry->job.has_unfinished_work();
        } catch (const std::exception& e) {
            spdlog::warn("scheduler: job {}: has_unfinished_work failed: {}", entry->job.name,
                         e.what());
        }
        if (!unfinished) continue;
        std::lock_guard lock{mutex_};
        spdlog::info("scheduler: job {} has unfinished work; resuming", entry->job.name);
        entry->is_resume_pending = true;
        entry->resume_at = std::chrono::steady_clock::now();
    }

    std::unique_lock lock{mutex_};
    while (!is_stopping_) {
        const auto now = SystemClock::now();
        const auto steady_now = std::chrono::steady_clock::now();
        for (auto& [name, entry_ptr] : entries_) {
            Entry& entry = *entry_ptr;
            if (entry.is_running && !entry.is_timed_out && steady_now >= entry.deadline) {
                entry.is_timed_out = true;
                entry.stop.request_stop();
                spdlog::warn("scheduler: job {} passed its timeout of {}s; stop requested", name,
                             settings_.run_timeout.count());
            }
            if (entry.is_resume_pending && !entry.is_running && steady_now >= entry.resume_at) {
                entry.is_resume_pending = false;
                launch(entry, Trigger::resume, std::nullopt, {});
                continue;
            }
            if (!entry.next_fire || now < entry.due) continue;
            const auto slot = entry.schedule.slot_of(*entry.next_fire);
            plan_next(entry, now);
            if (entry.is_running) {
                spdlog::info(
                    "scheduler: job {} slot {} skipped: the previous run is still under way", name,
                    slot);
                continue;
            }
            launch(entry, Trigger::schedule, slot, {});
        }
        wake_.wait_for(lock, kLoopTick);
    }
}

void Scheduler::launch(Entry& entry,
                       Trigger trigger,
                       std::optional<std::int64_t> slot,
                       std::string token) {
    // The previous run's thread has finished its work (is_running is false); join it.
    if (entry.thread.joinable()) entry.thread.join();
    entry.is_running = true;
    entry.is_timed_out = false;
    entry.stop = std::stop_source{};
    entry.progress.clear();
    entry.deadline = std::chrono::steady_clock::now() + settings_.run_timeout;
    entry.thread = std::thread([this, &entry, trigger, slot, token = std::move(token)]() mutable {
        // Jobs are background work: at nice 10 they take the CPU requests leave.
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kJobNice);
        run(entry, trigger, slot, std::move(token));
    });
}

Scheduler::SystemClock::time_point Scheduler::marker_expiry() const {
    return SystemClock::now() + settings_.marker_lease;
}

void Scheduler::run(Entry& entry,
                    Trigger trigger,
                    std::optional<std::int64_t> slot,
                    std::string token) {
    const auto& name = entry.job.name;
    bool may_run = true;
    if (slot) {
        switch (leases_.claim_slot(lease_name(entry), *slot)) {
            case JobLeases::Outcome::won:
                break;
            case JobLeases::Outcome::taken:
                spdlog::debug("scheduler: job {} slot {} taken by another instance", name, *slot);
                may_run = false;
                break;
            case JobLeases::Outcome::failed:
                spdlog::warn("scheduler: job {} slot {}: cannot claim the lease; skipped", name,
                             *slot);
                may_run = false;
                break;
        }
    }
    if (may_run && token.empty()) {
        switch (leases_.start_run(lease_name(entry), marker_expiry(), token)) {
            case JobLeases::Outcome::won:
                break;
            case JobLeases::Outcome::taken:
                spdlog::info("scheduler: job {} is running on another instance; {} run skipped",
                             name, trigger_name(trigger));
                may_run = false;
                if (trigger == Trigger::resume) {
                    std::lock_guard lock{mutex_};
                    entry.is_resume_pending = true;
                    entry.resume_at = std::chrono::steady_clock::now() + kResumeRetry;
                }
                break;
            case JobLeases::Outcome::failed:
                spdlog::warn("scheduler: job {}: cannot take the running marker; skipped", name);
                may_run = false;
                break;
        }
    }
    if (may_run) execute(entry, trigger, token, slot);
    std::lock_guard lock{mutex_};
    entry.is_running = false;
}

void Scheduler::execute(Entry& entry,
                        Trigger trigger,
                        const std::string& token,
                        std::optional<std::int64_t> slot) {
    const auto& name = entry.job.name;
    auto& registry = metrics::registry();
    auto& running_gauge = registry.gauge("nexu_job_running", {{"job", name}});
    running_gauge.set(1);

    JobRunRecord record;
    if (auto loaded = state_.load(name); loaded && *loaded) {
        record = **loaded;
    } else if (!loaded) {
        spdlog::warn("scheduler: job {}: cannot read its record: {}", name, loaded.error());
    }
    record.name = name;
    const auto started = SystemClock::now();
    record.running = true;
    record.running_instance = settings_.instance_id;
    record.running_since = started;
    record.running_expires = marker_expiry();
    record.progress.clear();
    if (auto saved = state_.save(record); !saved) {
        spdlog::warn("scheduler: job {}: cannot write its record: {}", name, saved.error());
    }
    spdlog::info("scheduler: job {} started trigger={} slot={} instance={}", name,
                 trigger_name(trigger), slot ? std::to_string(*slot) : std::string{"-"},
                 settings_.instance_id);

    // Progress lines may come from any thread of the job.
    struct ProgressState {
        std::mutex mutex;
        JobRunRecord record;
        std::chrono::steady_clock::time_point last_saved;
        std::chrono::steady_clock::time_point last_logged;
    } progress_state;
    progress_state.record = record;
    progress_state.last_saved = std::chrono::steady_clock::now();
    progress_state.last_logged = progress_state.last_saved;

    JobContext context;
    {
        std::lock_guard lock{mutex_};
        context.stop = entry.stop.get_token();
    }
    context.progress = [this, &entry, &progress_state](std::string_view line) {
        std::string text{line.substr(0, kMaxProgressChars)};
        {
            std::lock_guard lock{mutex_};
            entry.progress = text;
        }
        std::lock_guard lock{progress_state.mutex};
        const auto now = std::chrono::steady_clock::now();
        if (now - progress_state.last_logged >= kProgressLogEvery) {
            progress_state.last_logged = now;
            spdlog::info("scheduler: job {} progress: {}", entry.job.name, text);
        }
        if (now - progress_state.last_saved >= kProgressSaveEvery) {
            progress_state.last_saved = now;
            progress_state.record.progress = text;
            (void)state_.save(progress_state.record);  // best effort: the final save follows
        }
    };

    // Keeps the running marker alive while the job runs (see marker_lease).
    std::jthread renewer{[this, &entry, &token, &progress_state](std::stop_token stop) {
        std::mutex mutex;
        std::condition_variable_any wake;
        std::unique_lock lock{mutex};
        while (!stop.stop_requested()) {
            wake.wait_for(lock, stop, settings_.marker_lease / 3, [] { return false; });
            if (stop.stop_requested()) break;
            const auto expires = marker_expiry();
            leases_.renew_run(lease_name(entry), token, expires);
            std::lock_guard progress_lock{progress_state.mutex};
            progress_state.record.running_expires = expires;
            (void)state_.save(progress_state.record);  // best effort, like progress
        }
    }};

    const auto steady_start = std::chrono::steady_clock::now();
    JobOutcome outcome;
    try {
        outcome = entry.job.run(context);
    } catch (const std::exception& e) {
        outcome = {false, std::string{"the job threw: "} + e.what()};
    } catch (...) {
        outcome = {false, "the job threw an unknown exception"};
    }
    const auto elapsed = std::chrono::steady_clock::now() - steady_start;
    renewer.request_stop();
    renewer.join();
    bool timed_out = false;
    bool stopped = false;
    {
        std::lock_guard lock{mutex_};
        timed_out = entry.is_timed_out;
        stopped = is_stopping_;
    }
    std::string result = outcome.ok ? "ok" : "failed";
    if (timed_out) result = "timed out";
    const auto seconds = std::chrono::duration<double>(elapsed).count();

    std::string metric_result = timed_out ? "timed_out" : result;
    registry.counter("nexu_job_runs_total", {{"job", name}, {"result", metric_result}}).add();
    registry.histogram("nexu_job_duration_seconds", {{"job", name}})
        .observe(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));

    {
        std::lock_guard lock{progress_state.mutex};
        record = progress_state.record;
    }
    record.last_start = started;
    record.last_duration_s = seconds;
    record.last_result = result;
    record.last_summary =
        stopped && !outcome.ok ? outcome.summary + " (stopped at shutdown)" : outcome.summary;
    record.last_instance = settings_.instance_id;
    record.last_trigger = trigger_name(trigger);
    record.runs += 1;
    record.running = false;
    record.running_instance.clear();
    record.running_since.reset();
    record.running_expires.reset();
    record.progress.clear();
    if (auto saved = state_.save(record); !saved) {
        spdlog::warn("scheduler: job {}: cannot write its record: {}", name, saved.error());
    }
    leases_.finish_run(lease_name(entry), token);
    running_gauge.set(0);
    const auto level = result == "ok" ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "Task 'job:{}' executed in {:.3f}s result={} instance={} summary={}", name,
                seconds, result, settings_.instance_id, record.last_summary);
}

Scheduler::RunRequest Scheduler::run_now(std::string_view name) {
    Entry* entry = nullptr;
    {
        std::lock_guard lock{mutex_};
        const auto found = entries_.find(name);
        if (found == entries_.end()) return RunRequest::unknown_job;
        entry = found->second.get();
        if (!is_started_ || is_stopping_) return RunRequest::unavailable;
        if (entry->is_running) return RunRequest::already_running;
        // Reserved here, so a scheduled run cannot start while the marker is taken.
        entry->is_running = true;
    }
    std::string token;
    const auto outcome = leases_.start_run(lease_name(*entry), marker_expiry(), token);
    std::lock_guard lock{mutex_};
    entry->is_running = false;
    if (outcome != JobLeases::Outcome::won) {
        return outcome == JobLeases::Outcome::taken ? RunRequest::already_running
                                                    : RunRequest::unavailable;
    }
    if (is_stopping_) {
        leases_.finish_run(lease_name(*entry), token);
        return RunRequest::unavailable;
    }
    launch(*entry, Trigger::manual, std::nullopt, std::move(token));
    return RunRequest::started;
}

tl::expected<std::vector<Scheduler::JobStatus>, std::string> Scheduler::status() {
    std::vector<JobStatus> out;
    {
        std::lock_guard lock{mutex_};
        for (const auto& [name, entry] : entries_) {
            JobStatus status;
            status.name = name;
            status.schedule = entry->schedule.text();
            status.next_run = entry->next_fire;
            status.running = entry->is_running;
            status.progress = entry->progress;
            out.push_back(std::move(status));
        }
    }
    const auto now = SystemClock::now();
    for (auto& status : out) {
        auto loaded = state_.load(status.name);
        if (!loaded) return tl::make_unexpected(loaded.error());
        status.record = std::move(*loaded);
        if (!status.record || !status.record->running) continue;
        // A run elsewhere counts until its marker would have expired (a crash).
        const bool is_live =
            status.record->running_expires && *status.record->running_expires > now;
        if (is_live) {
            status.running = true;
            if (status.progress.empty()) status.progress = status.record->progress;
        }
    }
    return out;
}

}  // namespace nexu::config
