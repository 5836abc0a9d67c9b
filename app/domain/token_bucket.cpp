#include "domain/token_bucket.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace nexu::domain {

Result<RateLimit> RateLimit::parse(std::string_view text, std::uint32_t burst) {
    const auto slash = text.find('/');
    const auto problem = [] {
        return fail(Errc::invalid_argument,
                    "must be N/PERIOD, e.g. 10/15m (PERIOD a number with s, m or h)");
    };
    if (slash == std::string_view::npos || slash == 0) return problem();
    std::uint32_t tokens = 0;
    const auto count = text.substr(0, slash);
    if (auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), tokens);
        ec != std::errc{} || end != count.data() + count.size() || tokens == 0) {
        return problem();
    }
    auto period = text.substr(slash + 1);
    if (period.empty()) return problem();
    std::int64_t unit_ms = 0;
    switch (period.back()) {
        case 's':
            unit_ms = 1000;
            break;
        case 'm':
            unit_ms = 60'000;
            break;
        case 'h':
            unit_ms = 3'600'000;
            break;
        default:
            return problem();
    }
    period.remove_suffix(1);
    std::int64_t amount = 1;  // "100/s" means per one second
    if (!period.empty()) {
        if (auto [end, ec] = std::from_chars(period.data(), period.data() + period.size(), amount);
            ec != std::errc{} || end != period.data() + period.size() || amount <= 0 ||
            amount > 1'000'000) {
            return problem();
        }
    }
    RateLimit limit;
    limit.tokens = tokens;
    limit.period = std::chrono::milliseconds{amount * unit_ms};
    limit.burst = burst == 0 ? tokens : burst;
    return limit;
}

std::string RateLimit::to_string() const {
    const auto ms = period.count();
    std::string text = std::to_string(tokens) + "/";
    if (ms % 3'600'000 == 0) return text + std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0) return text + std::to_string(ms / 60'000) + "m";
    return text + std::to_string(ms / 1000) + "s";
}

TokenBucket::TokenBucket(const RateLimit& limit, Clock::time_point now)
    : limit_(limit),
      tokens_(limit.burst),
      tokens_per_ms_(static_cast<double>(limit.tokens) / static_cast<double>(limit.period.count())),
      updated_(now) {}

void TokenBucket::refill(Clock::time_point now) {
    if (now <= updated_) return;
    const auto elapsed = std::chrono::duration<double, std::milli>(now - updated_).count();
    tokens_ = std::min(static_cast<double>(limit_.burst), tokens_ + elapsed * tokens_per_ms_);
    updated_ = now;
}

TokenBucket::Decision TokenBucket::decision(bool allowed) const {
    const auto missing_for_one = std::max(0.0, 1.0 - tokens_);
    const auto missing_for_full = std::max(0.0, static_cast<double>(limit_.burst) - tokens_);
    const auto to_ms = [this](double tokens) {
        return std::chrono::milliseconds{
            static_cast<std::int64_t>(std::ceil(tokens / tokens_per_ms_))};
    };
    return {allowed, static_cast<std::uint32_t>(std::floor(tokens_)),
            allowed ? std::chrono::milliseconds{0} : to_ms(missing_for_one),
            to_ms(missing_for_full)};
}

TokenBucket::Decision TokenBucket::take(Clock::time_point now, std::uint32_t cost) {
    refill(now);
    if (tokens_ + 1e-9 < cost) return decision(false);
    tokens_ -= cost;
    return decision(true);
}

TokenBucket::Decision TokenBucket::peek(Clock::time_point now) {
    refill(now);
    return decision(tokens_ + 1e-9 >= 1.0);
}

bool TokenBucket::is_full(Clock::time_point now) const {
    const auto elapsed =
        now > updated_ ? std::chrono::duration<double, std::milli>(now - updated_).count() : 0.0;
    return tokens_ + elapsed * tokens_per_ms_ + 1e-9 >= limit_.burst;
}

}  // namespace nexu::domain
