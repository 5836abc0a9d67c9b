#include "infrastructure/redis_rate_limiter.hpp"

namespace nexu::infrastructure {

namespace {

// KEYS[1]: the bucket. ARGV: capacity, tokens per ms, cost, peek (1/0).
// Returns {allowed, whole tokens left, ms until one more token, ms until full}.
constexpr std::string_view kScript = R"lua(
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local peek = ARGV[4] == '1'
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local allowed = tokens >= cost
if allowed and not peek then tokens = tokens - cost end
if not peek then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1000)
end
local retry = 0
if not allowed then retry = math.ceil((cost - tokens) / rate) end
return {allowed and 1 or 0, math.floor(tokens), retry, math.ceil((capacity - tokens) / rate)}
)lua";

}  // namespace

RedisRateLimiter::RedisRateLimiter(RedisClient& redis, std::string key_prefix)
    : redis_(redis), key_prefix_(std::move(key_prefix)) {}

Result<std::string> RedisRateLimiter::script_sha() {
    std::lock_guard lock{mutex_};
    if (script_sha_.empty()) {
        auto loaded = redis_.load_script(kScript);
        if (!loaded) return loaded;
        script_sha_ = std::move(*loaded);
    }
    return script_sha_;
}

Result<domain::TokenBucket::Decision> RedisRateLimiter::decide(std::string_view key,
                                                               const domain::RateLimit& limit,
                                                               std::uint32_t cost,
                                                               bool peek) {
    const auto capacity = limit.burst != 0 ? limit.burst : limit.tokens;
    const double tokens_per_ms =
        static_cast<double>(limit.tokens) / static_cast<double>(limit.period.count());
    std::string bucket = key_prefix_;
    bucket += key;
    auto sha = script_sha();
    if (!sha) return tl::make_unexpected(sha.error());
    auto reply = redis_.evalsha(*sha, kScript, {bucket},
                                {std::to_string(capacity), std::to_string(tokens_per_ms),
                                 std::to_string(cost), peek ? "1" : "0"});
    if (!reply) return tl::make_unexpected(reply.error());
    if (reply->kind != RedisReply::Kind::array || reply->elements.size() != 4) {
        return fail(Errc::unavailable, "unexpected reply from the rate-limit script: " + reply->text);
    }
    const auto& e = reply->elements;
    return domain::TokenBucket::Decision{e[0].integer == 1, static_cast<std::uint32_t>(e[1].integer),
                                         std::chrono::milliseconds{e[2].integer},
                                         std::chrono::milliseconds{e[3].integer}};
}

}  // namespace nexu::infrastructure
