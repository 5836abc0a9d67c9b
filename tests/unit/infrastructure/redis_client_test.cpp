#include "infrastructure/redis_client.hpp"

#include <catch2/catch.hpp>

using namespace nexu;
using infrastructure::RedisEndpoint;

TEST_CASE("redis URLs name host, port, database and password", "[redis]") {
    auto plain = RedisEndpoint::parse("redis://cache.internal").value();
    CHECK(plain.host == "cache.internal");
    CHECK(plain.port == 6379);
    CHECK(plain.db == 0);
    CHECK(plain.password.empty());

    auto full = RedisEndpoint::parse("redis://:s3cret@10.0.0.5:6380/2").value();
    CHECK(full.host == "10.0.0.5");
    CHECK(full.port == 6380);
    CHECK(full.db == 2);
    CHECK(full.password == "s3cret");

    CHECK(RedisEndpoint::parse("http://x").error().code == Errc::invalid_argument);
    CHECK(RedisEndpoint::parse("redis://x:0").error().code == Errc::invalid_argument);
    CHECK(RedisEndpoint::parse("redis://x:port").error().code == Errc::invalid_argument);
    CHECK(RedisEndpoint::parse("redis://x/db").error().code == Errc::invalid_argument);
    CHECK(RedisEndpoint::parse("redis://:6379").error().code == Errc::invalid_argument);
}

TEST_CASE("with redis unreachable commands fail fast as unavailable", "[redis]") {
    // Port 1 on loopback: connection refused at once, no server needed.
    infrastructure::RedisClient redis{RedisEndpoint::parse("redis://127.0.0.1:1").value(),
                                      std::chrono::milliseconds{200},
                                      std::chrono::milliseconds{60'000}};
    CHECK(redis.command({"PING"}).error().code == Errc::unavailable);
    const auto started = std::chrono::steady_clock::now();
    // Within the retry interval no new connection is tried.
    CHECK(redis.publish("c", "m").error().code == Errc::unavailable);
    CHECK(redis.evalsha("0", "return 1", {}, {}).error().code == Errc::unavailable);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds{100});
    CHECK_FALSE(redis.is_subscribed());
}
