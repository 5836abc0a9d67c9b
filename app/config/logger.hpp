#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include "config/log_file_sink.hpp"

namespace nexu::config {

struct LogSettings {
    spdlog::level::level_enum level = spdlog::level::info;
    std::filesystem::path logs_dir = "logs";
    std::string file_name = "app.log";  // per instance when several share logs_dir
    bool console = true;
    std::size_t max_file_bytes = 10 * 1024 * 1024;
    std::size_t max_files = 5;
    // The log-rotation job rotates the current file once its first line is
    // older than this (0: by size only) and deletes rotated files whose last
    // line is older than max_retained_age (0: by count only).
    std::chrono::seconds max_file_age{24 * 3600};
    std::chrono::seconds max_retained_age{30 * 24 * 3600};
};

// The original system's line, in English and UTC:
// `2025-11-10 14:20:03 - INFO - [app_logger] - Task 'read_user_data' executed in 0.052s`
inline constexpr const char* kLogPattern = "%Y-%m-%d %H:%M:%S - %* - [%n] - %v";
inline constexpr const char* kLoggerName = "app_logger";

// Makes `app_logger` the default spdlog logger, writing to the console and a
// size-rotated file under logs_dir. Call once from main before any thread
// starts. Returns a message naming the problem when the file cannot be opened.
std::optional<std::string> init_logging(const LogSettings& settings);

// The log-rotation job: rotates the server's log file when it is older than
// settings.max_file_age and deletes rotated files past the count or
// settings.max_retained_age. Safe while other threads log.
LogFileSink::Maintenance maintain_log_files(const LogSettings& settings);

// A formatter with the project's pattern, for tests and for other sinks.
std::unique_ptr<spdlog::formatter> make_log_formatter();

}  // namespace nexu::config
