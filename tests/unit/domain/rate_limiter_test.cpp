#include <catch2/catch.hpp>

#include "domain/rate_limiter.hpp"

using namespace nexu::domain;
using namespace std::chrono_literals;

namespace {
const auto kStart = RateLimiter::Clock::time_point{} + 1h;
}

TEST_CASE("each key has its own bucket", "[domain][rate]") {
    RateLimiter limiter{*RateLimit::parse("3/1m")};
    for (int i = 0; i < 3; ++i) REQUIRE(limiter.take("alice", kStart).allowed);
    CHECK_FALSE(limiter.take("alice", kStart).allowed);
    CHECK(limiter.take("bob", kStart).allowed);  // one account's lockout never touches another
    CHECK(limiter.peek("carol", kStart).remaining == 3);
    CHECK(limiter.size() == 2);
    limiter.forget("alice");
    CHECK(limiter.take("alice", kStart).allowed);
}

TEST_CASE("memory stays bounded under a flood of distinct keys", "[domain][rate]") {
    RateLimiter limiter{*RateLimit::parse("5/1s"), 4};
    for (int i = 0; i < 10000; ++i) {
        limiter.take("client-" + std::to_string(i), kStart + std::chrono::milliseconds{i});
    }
    CHECK(limiter.size() <= 16 * 4);
}

TEST_CASE("full buckets are dropped before busy ones", "[domain][rate]") {
    RateLimiter limiter{*RateLimit::parse("2/1h"), 1};
    // Hundreds of idle keys must not evict the one that is being limited.
    REQUIRE(limiter.take("attacker", kStart, 2).allowed);
    CHECK_FALSE(limiter.take("attacker", kStart).allowed);
    for (int i = 0; i < 500; ++i) limiter.peek("idle-" + std::to_string(i), kStart);
    CHECK_FALSE(limiter.take("attacker", kStart + 1s).allowed);
}
