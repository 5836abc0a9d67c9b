#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "domain/jsonpath/comparison.hpp"
#include "domain/jsonpath/query.hpp"

using nexu::domain::jsonpath::compare;
using nexu::domain::jsonpath::CompareOp;
using nexu::domain::jsonpath::Query;
using nexu::domain::jsonpath::Value;
using nlohmann::json;

namespace {

bool holds(const json& a, CompareOp op, const json& b) {
    return compare(op, Value::of(a), Value::of(b));
}

// Whether the filter `$[?<expression>]` selects the single element of [document].
bool filter_selects(std::string_view expression, const json& document) {
    auto query = Query::compile("$[?" + std::string{expression} + "]");
    REQUIRE(query);
    return !query->select(json::array({document}))->empty();
}

}  // namespace

// RFC 9535 §2.3.5.3, Table 11 (the example document is {"obj": {"x": "y"}, "arr": [2, 3]}).
TEST_CASE("comparisons follow the RFC 9535 example table", "[jsonpath]") {
    const json doc = json::parse(R"({"obj": {"x": "y"}, "arr": [2, 3]})");
    const auto check = [&](std::string_view expression, bool expected) {
        INFO(expression);
        auto query = Query::compile("$[?" + std::string{expression} + "]");
        REQUIRE(query);
        CHECK(query->select(json::array({doc}))->empty() == !expected);
    };
    check("$.absent1 == $.absent2", true);
    check("$.absent1 <= $.absent2", true);
    check("$.absent == 'g'", false);
    check("$.absent1 != $.absent2", false);
    check("$.absent != 'g'", true);
    check("1 <= 2", true);
    check("1 > 2", false);
    check("13 == '13'", false);
    check("'a' <= 'b'", true);
    check("'a' > 'b'", false);
    check("$[0].obj == $[0].arr", false);
    check("$[0].obj != $[0].arr", true);
    check("$[0].obj == $[0].obj", true);
    check("$[0].obj != $[0].obj", false);
    check("$[0].arr == $[0].arr", true);
    check("$[0].arr != $[0].arr", false);
    check("$[0].obj == 17", false);
    check("$[0].obj != 17", true);
    check("$[0].obj <= $[0].arr", false);
    check("$[0].obj < $[0].arr", false);
    check("$[0].obj <= $[0].obj", true);
    check("$[0].arr <= $[0].arr", true);
    check("1 <= $[0].arr", false);
    check("1 >= $[0].arr", false);
    check("1 > $[0].arr", false);
    check("1 < $[0].arr", false);
    check("true <= true", true);
    check("true > true", false);
}

TEST_CASE("numbers compare by value whatever their representation", "[jsonpath]") {
    CHECK(holds(1, CompareOp::eq, 1.0));
    CHECK(holds(json(std::uint64_t{18446744073709551615u}), CompareOp::gt, -1));
    CHECK(holds(-1, CompareOp::lt, json(std::uint64_t{1})));
    CHECK(holds(9007199254740993, CompareOp::gt, 9007199254740992));  // exact beyond 2^53
    CHECK(holds(0.1, CompareOp::lt, 1));
    CHECK(holds(-0.0, CompareOp::eq, 0));
    CHECK(filter_selects("@ == 100", 1e2));
    CHECK(filter_selects("@ == 1e2", 100));
}

TEST_CASE("strings compare by Unicode scalar values", "[jsonpath]") {
    CHECK(holds("a", CompareOp::lt, "b"));
    CHECK(holds("Z", CompareOp::lt, "a"));
    CHECK(holds("ab", CompareOp::gt, "a"));
    CHECK(holds("\xef\xbf\xbf", CompareOp::lt, "\xf0\x9f\x98\x80"));  // U+FFFF < U+1F600
    CHECK(holds("é", CompareOp::gt, "z"));
    CHECK_FALSE(holds("1", CompareOp::lt, 2));
}

TEST_CASE("Nothing equals only Nothing, and null is a value", "[jsonpath]") {
    const json null_value = nullptr;
    CHECK(compare(CompareOp::eq, Value::nothing(), Value::nothing()));
    CHECK_FALSE(compare(CompareOp::eq, Value::nothing(), Value::of(null_value)));
    CHECK(compare(CompareOp::ne, Value::nothing(), Value::of(null_value)));
    CHECK_FALSE(compare(CompareOp::lt, Value::nothing(), Value::of(1)));
    CHECK(compare(CompareOp::le, Value::nothing(), Value::nothing()));
    CHECK(holds(null_value, CompareOp::le, null_value));
    CHECK_FALSE(holds(null_value, CompareOp::lt, null_value));
    CHECK(filter_selects("@.a == null", json::parse(R"({"a": null})")));
    CHECK_FALSE(filter_selects("@.a == null", json::parse(R"({"b": null})")));
}

TEST_CASE("existence is not truthiness", "[jsonpath]") {
    // A test selects when the query finds a node, whatever its value.
    CHECK(filter_selects("@.a", json::parse(R"({"a": false})")));
    CHECK(filter_selects("@.a", json::parse(R"({"a": null})")));
    CHECK(filter_selects("@.a", json::parse(R"({"a": 0})")));
    CHECK_FALSE(filter_selects("@.a", json::parse(R"({"b": true})")));
    CHECK(filter_selects("!@.a", json::parse(R"({"b": true})")));
    CHECK(filter_selects("@.*", json::parse(R"([[]])")) == true);
}

TEST_CASE("arrays and objects compare deeply, members in any order", "[jsonpath]") {
    CHECK(holds(json::parse(R"({"a": [1, {"b": 2.0}], "c": null})"), CompareOp::eq,
                json::parse(R"({"c": null, "a": [1.0, {"b": 2}]})")));
    CHECK_FALSE(holds(json::parse("[1, 2]"), CompareOp::eq, json::parse("[2, 1]")));
    CHECK_FALSE(
        holds(json::parse(R"({"a": 1})"), CompareOp::eq, json::parse(R"({"a": 1, "b": 1})")));
}
