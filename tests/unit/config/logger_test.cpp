#include "config/logger.hpp"

#include <regex>

#include <catch2/catch.hpp>
#include <spdlog/details/log_msg.h>

namespace {
std::string format(spdlog::level::level_enum level, std::string_view text) {
    auto formatter = nexu::config::make_log_formatter();
    spdlog::details::log_msg message{nexu::config::kLoggerName, level, text};
    spdlog::memory_buf_t out;
    formatter->format(message, out);
    return {out.data(), out.size()};
}
}  // namespace

TEST_CASE("log lines have the original system's shape", "[config]") {
    const auto line = format(spdlog::level::info, "Task 'read_user_data' executed in 0.052s");
    const std::regex shape{
        R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - INFO - \[app_logger\] - Task 'read_user_data' executed in 0\.052s\n$)"};
    CHECK(std::regex_match(line, shape));
}

TEST_CASE("levels are written in capitals", "[config]") {
    CHECK(format(spdlog::level::warn, "x").find(" - WARNING - ") != std::string::npos);
    CHECK(format(spdlog::level::err, "x").find(" - ERROR - ") != std::string::npos);
    CHECK(format(spdlog::level::debug, "x").find(" - DEBUG - ") != std::string::npos);
}
