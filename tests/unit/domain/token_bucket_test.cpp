#include <catch2/catch.hpp>

#include "domain/token_bucket.hpp"

using namespace nexu::domain;
using namespace std::chrono_literals;

TEST_CASE("rate limits parse from N/PERIOD", "[domain][rate]") {
    auto login = RateLimit::parse("10/15m");
    REQUIRE(login);
    CHECK(login->tokens == 10);
    CHECK(login->period == 15min);
    CHECK(login->burst == 10);
    CHECK(RateLimit::parse("100/1s", 200)->burst == 200);
    CHECK(RateLimit::parse("100/s")->period == 1s);
    CHECK(RateLimit::parse("5/2h")->to_string() == "5/2h");
    for (const auto* bad : {"", "10", "/1s", "0/1s", "10/", "10/1d", "ten/1s", "10/-1s", "10/1.5s"}) {
        INFO(bad);
        CHECK_FALSE(RateLimit::parse(bad));
    }
}

TEST_CASE("a bucket allows its burst, then refuses with Retry-After", "[domain][rate]") {
    const auto start = TokenBucket::Clock::time_point{} + 1h;
    TokenBucket bucket{*RateLimit::parse("10/10s"), start};  // one token a second
    for (int i = 0; i < 10; ++i) {
        const auto decision = bucket.take(start);
        REQUIRE(decision.allowed);
        CHECK(decision.remaining == static_cast<std::uint32_t>(9 - i));
    }
    const auto refused = bucket.take(start);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after == 1000ms);
    CHECK(refused.reset_after == 10000ms);
    CHECK_FALSE(bucket.take(start + 999ms).allowed);
    CHECK(bucket.take(start + 1000ms).allowed);
    CHECK(bucket.is_full(start + 20s));
}

TEST_CASE("tokens refill evenly and never past the burst", "[domain][rate]") {
    const auto start = TokenBucket::Clock::time_point{} + 1h;
    TokenBucket bucket{*RateLimit::parse("100/1s", 200), start};
    for (int i = 0; i < 200; ++i) REQUIRE(bucket.take(start).allowed);
    CHECK_FALSE(bucket.take(start).allowed);
    CHECK(bucket.peek(start + 500ms).remaining == 50);
    CHECK(bucket.peek(start + 1h).remaining == 200);
}
