#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/error.hpp"

namespace nexu::domain {

// A rate limit "N/PERIOD" with an optional burst: N tokens refill evenly over
// PERIOD, at most `burst` (default N) are held. Parsed from settings such as
// "10/15m", "50/10m", "100/1s".
struct RateLimit {
    std::uint32_t tokens = 0;
    std::chrono::milliseconds period{0};
    std::uint32_t burst = 0;

    static Result<RateLimit> parse(std::string_view text, std::uint32_t burst = 0);
    std::string to_string() const;
};

// One token bucket; not thread-safe (the limiter that owns it locks). Time
// is passed in, so behaviour is exact in tests.
class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;

    TokenBucket(const RateLimit& limit, Clock::time_point now);

    struct Decision {
        bool allowed;
        std::uint32_t remaining;                // whole tokens left after this request
        std::chrono::milliseconds retry_after;  // until one token is back (0 when allowed)
        std::chrono::milliseconds reset_after;  // until the bucket is full again
    };

    // Takes `cost` tokens when they are there.
    Decision take(Clock::time_point now, std::uint32_t cost = 1);
    // Looks without taking.
    Decision peek(Clock::time_point now);
    bool is_full(Clock::time_point now) const;

private:
    void refill(Clock::time_point now);
    Decision decision(bool allowed) const;

    RateLimit limit_;
    double tokens_;
    double tokens_per_ms_;
    Clock::time_point updated_;
};

}  // namespace nexu::domain
