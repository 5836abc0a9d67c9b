#include "config/timing.hpp"

#include <atomic>

#include <spdlog/spdlog.h>

#include "config/metrics.hpp"

namespace nexu::config {

namespace {
std::atomic<std::int64_t> slow_task_threshold_ns{50'000'000};
}  // namespace

void set_slow_task_threshold(std::chrono::milliseconds threshold) {
    slow_task_threshold_ns.store(std::chrono::nanoseconds(threshold).count());
}

void record_task(std::string_view task, std::chrono::nanoseconds elapsed) {
    metrics::registry()
        .histogram("nexu_task_duration_seconds", {{"task", std::string{task}}})
        .observe(elapsed);
    const auto level = elapsed.count() >= slow_task_threshold_ns.load(std::memory_order_relaxed)
                           ? spdlog::level::info
                           : spdlog::level::debug;
    if (!spdlog::should_log(level)) return;
    spdlog::log(level, "Task '{}' executed in {:.3f}s", task,
                std::chrono::duration<double>(elapsed).count());
}

}  // namespace nexu::config
