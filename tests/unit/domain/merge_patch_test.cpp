#include <catch2/catch.hpp>

#include "domain/merge_patch.hpp"

using nlohmann::json;

namespace {
json patched(const char* target, const char* patch) {
    auto value = json::parse(target);
    nexu::domain::apply_merge_patch(value, json::parse(patch));
    return value;
}
}  // namespace

// Every example of RFC 7396 Appendix A.
TEST_CASE("merge patch follows the RFC 7396 appendix examples", "[domain]") {
    CHECK(patched(R"({"a":"b"})", R"({"a":"c"})") == json::parse(R"({"a":"c"})"));
    CHECK(patched(R"({"a":"b"})", R"({"b":"c"})") == json::parse(R"({"a":"b","b":"c"})"));
    CHECK(patched(R"({"a":"b"})", R"({"a":null})") == json::parse(R"({})"));
    CHECK(patched(R"({"a":"b","b":"c"})", R"({"a":null})") == json::parse(R"({"b":"c"})"));
    CHECK(patched(R"({"a":["b"]})", R"({"a":"c"})") == json::parse(R"({"a":"c"})"));
    CHECK(patched(R"({"a":"c"})", R"({"a":["b"]})") == json::parse(R"({"a":["b"]})"));
    CHECK(patched(R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})") ==
          json::parse(R"({"a":{"b":"d"}})"));
    CHECK(patched(R"({"a":[{"b":"c"}]})", R"({"a":[1]})") == json::parse(R"({"a":[1]})"));
    CHECK(patched(R"(["a","b"])", R"(["c","d"])") == json::parse(R"(["c","d"])"));
    CHECK(patched(R"({"a":"b"})", R"(["c"])") == json::parse(R"(["c"])"));
    CHECK(patched(R"({"a":"foo"})", "null") == json(nullptr));
    CHECK(patched(R"({"a":"foo"})", R"("bar")") == json("bar"));
    CHECK(patched(R"({"e":null})", R"({"a":1})") == json::parse(R"({"e":null,"a":1})"));
    CHECK(patched(R"([1,2])", R"({"a":"b","c":null})") == json::parse(R"({"a":"b"})"));
    CHECK(patched(R"({})", R"({"a":{"bb":{"ccc":null}}})") == json::parse(R"({"a":{"bb":{}}})"));
}
