#include "config/timing.hpp"

#include <atomic>
#include <string>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "config/metrics.hpp"

namespace nexu::config {

namespace {

std::atomic<std::int64_t> slow_task_threshold_ns{50'000'000};

// The registry builds label vectors and takes a lock; hot tasks (cached reads)
// run millions of times a second, so each thread remembers its series.
metrics::Histogram& task_histogram(std::string_view task) {
    thread_local std::unordered_map<std::string, metrics::Histogram*> cache;
    thread_local std::string key;
    key.assign(task);
    auto it = cache.find(key);
    if (it == cache.end()) {
        auto* histogram =
            &metrics::registry().histogram("nexu_task_duration_seconds", {{"task", key}});
        it = cache.emplace(key, histogram).first;
    }
    return *it->second;
}

}  // namespace

void set_slow_task_threshold(std::chrono::milliseconds threshold) {
    slow_task_threshold_ns.store(std::chrono::nanoseconds(threshold).count());
}

void record_task(std::string_view task, std::chrono::nanoseconds elapsed) {
    task_histogram(task).observe(elapsed);
    const auto level = elapsed.count() >= slow_task_threshold_ns.load(std::memory_order_relaxed)
                           ? spdlog::level::info
                           : spdlog::level::debug;
    // No logger after spdlog::shutdown(): objects destroyed at exit may still be timed.
    auto* logger = spdlog::default_logger_raw();
    if (logger == nullptr || !logger->should_log(level)) return;
    logger->log(level, "Task '{}' executed in {:.3f}s", task,
                std::chrono::duration<double>(elapsed).count());
}

}  // namespace nexu::config
