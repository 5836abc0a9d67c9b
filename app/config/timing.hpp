#pragma once

#include <chrono>
#include <string_view>
#include <type_traits>
#include <utility>

namespace nexu::config {

// Records one run of a named task: feeds `nexu_task_duration_seconds{task}`
// and logs `Task 'NAME' executed in 0.052s` (INFO at or above the slow-task
// threshold, DEBUG below it, so hot paths cost a histogram update, not a line).
void record_task(std::string_view task, std::chrono::nanoseconds elapsed);

// The threshold above which a task's line is logged at INFO. Set once by main.
void set_slow_task_threshold(std::chrono::milliseconds threshold);

// Runs `fn`, times it with record_task, and returns what it returns.
template <class F>
decltype(auto) timed(std::string_view task, F&& fn) {
    const auto start = std::chrono::steady_clock::now();
    struct Recorder {
        std::string_view task;
        std::chrono::steady_clock::time_point start;
        ~Recorder() { record_task(task, std::chrono::steady_clock::now() - start); }
    } recorder{task, start};
    return std::forward<F>(fn)();
}

}  // namespace nexu::config
