#include "config/logger.hpp"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "config/log_file_sink.hpp"

namespace nexu::config {

namespace {

// The file sink of the default logger, for the log-rotation job (the logger
// is one of the process's globals; this is part of it).
std::shared_ptr<LogFileSink>& file_sink() {
    static std::shared_ptr<LogFileSink> sink;
    return sink;
}

constexpr std::size_t kLogQueueLines = 64 * 1024;

// spdlog prints levels in lower case; the original system's lines say INFO.
class UpperLevelFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg,
                const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const auto name = level_name(msg.level);
        dest.append(name.data(), name.data() + name.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<UpperLevelFlag>();
    }

private:
    static std::string_view level_name(spdlog::level::level_enum level) {
        switch (level) {
            case spdlog::level::trace:
                return "TRACE";
            case spdlog::level::debug:
                return "DEBUG";
            case spdlog::level::info:
                return "INFO";
            case spdlog::level::warn:
                return "WARNING";
            case spdlog::level::err:
                return "ERROR";
            case spdlog::level::critical:
                return "CRITICAL";
            case spdlog::level::off:
            case spdlog::level::n_levels:
                break;
        }
        return "OFF";
    }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter() {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<UpperLevelFlag>('*').set_pattern(kLogPattern);
    return formatter;
}

std::optional<std::string> init_logging(const LogSettings& settings) {
    std::vector<spdlog::sink_ptr> sinks;
    if (settings.console) sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
    try {
        const auto path = settings.logs_dir / settings.file_name;
        file_sink() =
            std::make_shared<LogFileSink>(path, settings.max_file_bytes, settings.max_files);
        sinks.push_back(file_sink());
    } catch (const spdlog::spdlog_ex& e) {
        return std::string{"NEXU_LOGS_DIR: cannot open the log file: "} + e.what();
    }
    // Lines are formatted and written by one logging thread: a request thread only
    // queues its line, so a flush of the file (up to a second of lines) never
    // stalls it. When the queue is full, callers wait rather than lose lines.
    spdlog::init_thread_pool(kLogQueueLines, 1);
    auto logger = std::make_shared<spdlog::async_logger>(kLoggerName, sinks.begin(), sinks.end(),
                                                         spdlog::thread_pool(),
                                                         spdlog::async_overflow_policy::block);
    logger->set_formatter(make_log_formatter());
    logger->set_level(settings.level);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
    // Lines below warn are flushed at least once a second, so operators tailing
    // logs/ see them promptly without a write per line.
    spdlog::flush_every(std::chrono::seconds(1));
    return std::nullopt;
}

LogFileSink::Maintenance maintain_log_files(const LogSettings& settings) {
    const auto sink = file_sink();
    if (!sink) return {false, 0, "no log file is open"};
    return sink->maintain(settings.max_file_age, settings.max_retained_age);
}

}  // namespace nexu::config
