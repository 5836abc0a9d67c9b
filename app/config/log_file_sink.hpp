#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <string>

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>

namespace nexu::config {

// The server's log file: spdlog's rotating_file_sink (rotated by size, the
// same file names: app.log, app.1.log ... app.N.log) plus rotation by age for
// the log-rotation job, which spdlog 1.10 cannot do from outside.
//
// Thread-safe: every write, flush and rotation holds the sink's mutex, so a
// rotation falls between two whole lines; nothing queued is lost (the async
// logger's thread writes it to the new file).
class LogFileSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    // Opens (appends to) `path`; throws spdlog::spdlog_ex when it cannot.
    LogFileSink(std::filesystem::path path, std::size_t max_file_bytes, std::size_t max_files);

    struct Maintenance {
        bool rotated = false;
        std::size_t removed = 0;
        std::string error;  // empty when everything went
    };
    // Rotates the current file when its first line is older than `max_age`
    // (0: never), then deletes rotated files past max_files or whose last
    // write is older than `max_retained_age` (0: by count only).
    Maintenance maintain(std::chrono::seconds max_age, std::chrono::seconds max_retained_age);

    const std::filesystem::path& path() const { return path_; }
    // The name of rotated file `index` (0: the current file).
    std::filesystem::path file_name(std::size_t index) const;

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

private:
    void rotate();  // with mutex_ held
    // When the current file's first line was written (its timestamp), or now.
    std::chrono::system_clock::time_point first_line_time() const;

    std::filesystem::path path_;
    std::size_t max_file_bytes_;
    std::size_t max_files_;
    spdlog::details::file_helper file_;
    std::size_t current_bytes_ = 0;
    std::chrono::system_clock::time_point started_;
};

}  // namespace nexu::config
