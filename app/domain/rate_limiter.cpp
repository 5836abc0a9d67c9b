#include "domain/rate_limiter.hpp"

#include <algorithm>
#include <functional>

namespace nexu::domain {

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_keys_per_shard)
    : limit_(limit), max_keys_per_shard_(std::max<std::size_t>(max_keys_per_shard, 1)) {}

RateLimiter::Shard& RateLimiter::shard_for(std::string_view key) {
    return shards_[std::hash<std::string_view>{}(key) % kShards];
}

void RateLimiter::make_room(Shard& shard, Clock::time_point now) {
    if (shard.buckets.size() < max_keys_per_shard_) return;
    std::erase_if(shard.buckets, [now](auto& item) { return item.second.bucket.is_full(now); });
    if (shard.buckets.size() < max_keys_per_shard_) return;
    const auto oldest = std::min_element(
        shard.buckets.begin(), shard.buckets.end(),
        [](const auto& a, const auto& b) { return a.second.touched < b.second.touched; });
    shard.buckets.erase(oldest);
}

TokenBucket::Decision RateLimiter::take(std::string_view key,
                                        Clock::time_point now,
                                        std::uint32_t cost) {
    auto& shard = shard_for(key);
    std::lock_guard lock{shard.mutex};
    auto it = shard.buckets.find(std::string{key});
    if (it == shard.buckets.end()) {
        make_room(shard, now);
        it = shard.buckets.emplace(std::string{key}, Entry{TokenBucket{limit_, now}, now}).first;
    }
    it->second.touched = now;
    return it->second.bucket.take(now, cost);
}

TokenBucket::Decision RateLimiter::peek(std::string_view key, Clock::time_point now) {
    auto& shard = shard_for(key);
    std::lock_guard lock{shard.mutex};
    const auto it = shard.buckets.find(std::string{key});
    if (it == shard.buckets.end()) return TokenBucket{limit_, now}.peek(now);
    return it->second.bucket.peek(now);
}

void RateLimiter::forget(std::string_view key) {
    auto& shard = shard_for(key);
    std::lock_guard lock{shard.mutex};
    shard.buckets.erase(std::string{key});
}

std::size_t RateLimiter::size() const {
    std::size_t total = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock{shard.mutex};
        total += shard.buckets.size();
    }
    return total;
}

}  // namespace nexu::domain
