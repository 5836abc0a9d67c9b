#pragma once

#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/token_bucket.hpp"

namespace nexu::domain {

// Token buckets by key (a client address, an account) for one limit, in this
// process. Thread-safe: keys are spread over shards with a lock each. Memory
// is bounded: past `max_keys` per shard, full buckets (which hold no state)
// are dropped first, then the least recently touched ones; dropping a bucket
// forgets that key's recent use, so under a flood of distinct keys the limit
// errs towards letting requests through rather than growing without bound.
class RateLimiter {
public:
    using Clock = TokenBucket::Clock;

    explicit RateLimiter(RateLimit limit, std::size_t max_keys_per_shard = 8192);

    TokenBucket::Decision take(std::string_view key, Clock::time_point now, std::uint32_t cost = 1);
    TokenBucket::Decision peek(std::string_view key, Clock::time_point now);
    void forget(std::string_view key);
    std::size_t size() const;
    const RateLimit& limit() const { return limit_; }

private:
    struct Entry {
        TokenBucket bucket;
        Clock::time_point touched;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, Entry> buckets;
    };
    static constexpr std::size_t kShards = 16;

    Shard& shard_for(std::string_view key);
    void make_room(Shard& shard, Clock::time_point now);

    RateLimit limit_;
    std::size_t max_keys_per_shard_;
    std::array<Shard, kShards> shards_;
};

}  // namespace nexu::domain
