#pragma once

#include <chrono>
#include <string>

namespace nexu::domain {

// RFC 3339 UTC with milliseconds, e.g. "2025-11-10T14:20:03.052Z": the form
// of every timestamp in the API.
std::string format_timestamp(std::chrono::system_clock::time_point when);

// Seconds since the Unix epoch, for JWT claims.
std::int64_t unix_seconds(std::chrono::system_clock::time_point when);

}  // namespace nexu::domain
