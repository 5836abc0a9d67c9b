#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "domain/error.hpp"
#include "domain/token_bucket.hpp"
#include "infrastructure/redis_client.hpp"

namespace nexu::infrastructure {

// Token buckets kept in Redis, so every instance counts against the same
// limits. One Lua script per decision: atomic in Redis and timed by Redis's
// own clock (TIME), so instances with skewed clocks agree. A bucket's key
// expires once it would be full again, so Redis holds only active clients.
//
// Blocking (a Redis round trip, bounded by the client's timeout): call from
// worker threads. Errc::unavailable when Redis cannot answer: the caller
// falls back to its local buckets rather than refusing or admitting all.
class RedisRateLimiter {
public:
    explicit RedisRateLimiter(RedisClient& redis, std::string key_prefix = "nexu:rate:");

    // Takes `cost` tokens when they are there (or only looks, with `peek`).
    Result<domain::TokenBucket::Decision> decide(std::string_view key,
                                                 const domain::RateLimit& limit,
                                                 std::uint32_t cost,
                                                 bool peek);

private:
    // SCRIPT LOAD once; a Redis restart forgets it, and evalsha loads it again.
    Result<std::string> script_sha();

    RedisClient& redis_;
    std::string key_prefix_;
    std::mutex mutex_;
    std::string script_sha_;
};

}  // namespace nexu::infrastructure
