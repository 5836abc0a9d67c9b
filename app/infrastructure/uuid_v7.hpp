#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace nexu::infrastructure {

// UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter
// in rand_a (§6.2 method 1) so ids made in the same millisecond still sort in
// creation order, then 62 random bits. Within one generator every id is
// strictly greater than the one before, even if the clock steps back (the
// last timestamp is kept until the clock passes it). Thread-safe.
class UuidV7Generator {
public:
    std::string next();
    // For tests: an id at a given time.
    std::string next_at(std::chrono::system_clock::time_point now);

private:
    std::mutex mutex_;
    std::uint64_t last_ms_ = 0;
    std::uint32_t counter_ = 0;
};

// Whether `text` is a lowercase canonical UUIDv7.
bool is_uuid_v7(std::string_view text);

}  // namespace nexu::infrastructure
