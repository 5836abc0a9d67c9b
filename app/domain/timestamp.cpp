#include "domain/timestamp.hpp"

#include <cstdio>
#include <ctime>

namespace nexu::domain {

std::string format_timestamp(std::chrono::system_clock::time_point when) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(when);
    const auto seconds = system_clock::to_time_t(floor<std::chrono::seconds>(ms));
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    const auto millis = (ms.time_since_epoch() % 1000).count();
    char text[64];  // room for any int the compiler cannot rule out
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis < 0 ? millis + 1000 : millis));
    return text;
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point when) {
    return std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
}

}  // namespace nexu::domain
