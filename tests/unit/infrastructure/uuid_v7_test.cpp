#include "infrastructure/uuid_v7.hpp"

#include <catch2/catch.hpp>
#include <sodium.h>

using namespace nexu::infrastructure;
using namespace std::chrono_literals;

TEST_CASE("UUIDv7 ids are canonical, versioned and time-prefixed", "[ids]") {
    REQUIRE(sodium_init() >= 0);
    UuidV7Generator ids;
    const auto at = std::chrono::system_clock::time_point{} + 1'700'000'000'123ms;
    const auto id = ids.next_at(at);
    CHECK(is_uuid_v7(id));
    CHECK(id.substr(0, 13) == "018bcfe5-687b");  // 1700000000123 ms = 0x018bcfe5687b
}

TEST_CASE("ids strictly increase within a generator, in one millisecond and across clock steps",
          "[ids]") {
    REQUIRE(sodium_init() >= 0);
    UuidV7Generator ids;
    const auto at = std::chrono::system_clock::time_point{} + 1'700'000'000'000ms;
    std::string previous = ids.next_at(at);
    for (int i = 0; i < 10000; ++i) {  // far more than 4096 per millisecond: borrows ahead
        const auto id = ids.next_at(at);
        REQUIRE(id > previous);
        REQUIRE(is_uuid_v7(id));
        previous = id;
    }
    const auto after_step_back = ids.next_at(at - 5s);
    CHECK(after_step_back > previous);
}

TEST_CASE("malformed ids are not UUIDv7", "[ids]") {
    CHECK_FALSE(is_uuid_v7(""));
    CHECK_FALSE(is_uuid_v7("018bcfe5-687b-4000-8000-000000000000"));  // version 4
    CHECK_FALSE(is_uuid_v7("018bcfe5-687b-7000-c000-000000000000"));  // wrong variant
    CHECK_FALSE(is_uuid_v7("018BCFE5-687B-7000-8000-000000000000"));  // upper case
    CHECK_FALSE(is_uuid_v7("018bcfe5687b-7000-8000-0000000000000"));
}
