#include "config/log_file_sink.hpp"

#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <system_error>

#include <spdlog/sinks/rotating_file_sink.h>

namespace nexu::config {

namespace {

// Rotated files beyond max_files left by an earlier, larger setting are looked
// for up to this index.
constexpr std::size_t kStaleIndexLimit = 1000;

}  // namespace

LogFileSink::LogFileSink(std::filesystem::path path,
                         std::size_t max_file_bytes,
                         std::size_t max_files)
    : path_(std::move(path)), max_file_bytes_(max_file_bytes), max_files_(max_files) {
    file_.open(path_.string(), false);
    current_bytes_ = file_.size();
    started_ = first_line_time();
}

std::filesystem::path LogFileSink::file_name(std::size_t index) const {
    return spdlog::sinks::rotating_file_sink<std::mutex>::calc_filename(path_.string(), index);
}

std::chrono::system_clock::time_point LogFileSink::first_line_time() const {
    // Lines start "YYYY-MM-DD HH:MM:SS" in UTC (kLogPattern).
    std::ifstream in{path_};
    std::string line;
    if (in && std::getline(in, line) && line.size() >= 19) {
        std::tm parts{};
        std::istringstream text{line.substr(0, 19)};
        text >> std::get_time(&parts, "%Y-%m-%d %H:%M:%S");
        if (!text.fail()) return std::chrono::system_clock::from_time_t(timegm(&parts));
    }
    return std::chrono::system_clock::now();
}

void LogFileSink::sink_it_(const spdlog::details::log_msg& msg) {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    if (current_bytes_ + formatted.size() > max_file_bytes_) {
        file_.flush();
        if (file_.size() > 0) rotate();
    }
    if (current_bytes_ == 0) started_ = std::chrono::system_clock::now();
    file_.write(formatted);
    current_bytes_ += formatted.size();
}

void LogFileSink::flush_() {
    file_.flush();
}

void LogFileSink::rotate() {
    file_.close();
    for (auto i = max_files_; i > 0; --i) {
        const auto source = file_name(i - 1);
        std::error_code ec;
        if (!std::filesystem::exists(source, ec)) continue;
        std::filesystem::rename(source, file_name(i), ec);  // replaces the oldest
        if (ec) {
            file_.reopen(true);  // keep the file bounded even so
            current_bytes_ = 0;
            throw spdlog::spdlog_ex("log rotation: cannot rename " + source.string() + ": " +
                                    ec.message());
        }
    }
    file_.reopen(true);
    current_bytes_ = 0;
    started_ = std::chrono::system_clock::now();
}

LogFileSink::Maintenance LogFileSink::maintain(std::chrono::seconds max_age,
                                               std::chrono::seconds max_retained_age) {
    Maintenance outcome;
    std::lock_guard lock{mutex_};
    try {
        const auto now = std::chrono::system_clock::now();
        if (max_age.count() > 0 && current_bytes_ > 0 && now - started_ >= max_age) {
            file_.flush();
            rotate();
            outcome.rotated = true;
        }
        const auto oldest_kept = std::filesystem::file_time_type::clock::now() - max_retained_age;
        for (std::size_t i = 1; i <= kStaleIndexLimit; ++i) {
            const auto name = file_name(i);
            std::error_code ec;
            const auto modified = std::filesystem::last_write_time(name, ec);
            if (ec) continue;  // a gap: later indexes may still be there
            const bool is_expired = max_retained_age.count() > 0 && modified < oldest_kept;
            if (i > max_files_ || is_expired) {
                if (std::filesystem::remove(name, ec)) ++outcome.removed;
                if (ec)
                    outcome.error =
                        "cannot remove " + name.filename().string() + ": " + ec.message();
            }
        }
    } catch (const std::exception& e) {
        outcome.error = e.what();
    }
    return outcome;
}

}  // namespace nexu::config
