#include <catch2/catch.hpp>
#include <string>

#include "domain/json_body.hpp"

using nexu::Errc;
using nexu::domain::parse_json;

namespace {
std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
}  // namespace

TEST_CASE("valid JSON parses", "[domain]") {
    auto value = parse_json(R"({"a":[1,2,{"b":"c"}],"d":null})");
    REQUIRE(value);
    CHECK((*value)["a"][2]["b"] == "c");
}

TEST_CASE("64 levels are accepted, 65 are refused with a position", "[domain]") {
    CHECK(parse_json(nested(64)));
    auto too_deep = parse_json(nested(65));
    REQUIRE_FALSE(too_deep);
    CHECK(too_deep.error().code == Errc::limit_exceeded);
    CHECK(too_deep.error().context.find("position 64") != std::string::npos);
}

TEST_CASE("100,000 nested brackets are refused without recursion", "[domain]") {
    auto too_deep = parse_json(nested(100000));
    REQUIRE_FALSE(too_deep);
    CHECK(too_deep.error().code == Errc::limit_exceeded);
    auto unbalanced = parse_json(std::string(100000, '{'));
    REQUIRE_FALSE(unbalanced);
    CHECK(unbalanced.error().code == Errc::limit_exceeded);
}

TEST_CASE("brackets inside strings do not count as nesting", "[domain]") {
    const std::string text = "{\"k\":\"" + std::string(1000, '[') + "\\\"[\"}";
    CHECK(parse_json(text));
}

TEST_CASE("bad JSON names the position without echoing the input", "[domain]") {
    auto bad = parse_json(R"({"password":"hunter2",})");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::invalid_argument);
    CHECK(bad.error().context.find("at position 22") != std::string::npos);
    CHECK(bad.error().context.find("hunter2") == std::string::npos);
    CHECK_FALSE(parse_json(""));
    CHECK_FALSE(parse_json("{} extra"));
    CHECK_FALSE(parse_json("\"\xff\""));  // not UTF-8
}
