#include <string>

#include <catch2/catch.hpp>

#include "domain/jsonpath/query.hpp"

using nexu::Errc;
using nexu::domain::jsonpath::Query;
using nexu::domain::jsonpath::QueryLimits;

namespace {

// The context of the compile error, or "" when the query compiled.
std::string error_of(std::string_view text, const QueryLimits& limits = {}) {
    auto query = Query::compile(text, limits);
    return query ? std::string{} : query.error().context;
}

bool is_valid(std::string_view text) {
    return Query::compile(text).has_value();
}

}  // namespace

TEST_CASE("errors name the character position where parsing stopped", "[jsonpath]") {
    CHECK(error_of("") == "at position 0: expected '$' at the start of the query");
    CHECK(error_of("$.a[") ==
          "at position 4: expected a selector (a quoted name, '*', an index, a slice or a "
          "filter)");
    CHECK(error_of("$['a'") == "at position 5: expected ',' or ']'");
    CHECK(error_of("$.") == "at position 2: expected '*' or a member name after '.'");
    CHECK(error_of("$..") == "at position 3: expected '[', '*' or a member name after '..'");
    CHECK(error_of("$ ") == "at position 1: expected '.', '..', '[' or the end of the query");
    // Positions count characters, not bytes: é takes two bytes.
    CHECK(error_of("$.é[") ==
          "at position 4: expected a selector (a quoted name, '*', an index, a slice or a "
          "filter)");
    CHECK(error_of("$[?@.a == ]") ==
          "at position 10: expected a literal, a query or a function call");
}

TEST_CASE("integers are limited to the I-JSON range and written canonically", "[jsonpath]") {
    CHECK(is_valid("$[9007199254740991]"));
    CHECK(is_valid("$[-9007199254740991]"));
    CHECK(error_of("$[9007199254740992]") ==
          "at position 2: expected an integer within the I-JSON range of +-(2^53-1)");
    CHECK_FALSE(is_valid("$[-9007199254740992]"));
    CHECK_FALSE(is_valid("$[1:9007199254740992]"));
    CHECK_FALSE(is_valid("$[::-9007199254740992]"));
    CHECK_FALSE(is_valid("$[01]"));
    CHECK_FALSE(is_valid("$[-0]"));
    CHECK_FALSE(is_valid("$[+1]"));
    CHECK(is_valid("$[?@.a == -0]"));  // a number literal may be -0, an index may not
    CHECK(is_valid("$[?@.a == 1.5e-3]"));
    CHECK(is_valid("$[?@.a == 1E+3]"));
    CHECK_FALSE(is_valid("$[?@.a == 1.]"));
    CHECK_FALSE(is_valid("$[?@.a == .5]"));
    CHECK_FALSE(is_valid("$[?@.a == 01]"));
}

TEST_CASE("blank space is allowed exactly where the grammar puts S", "[jsonpath]") {
    CHECK(is_valid("$ .a"));
    CHECK(is_valid("$\t[ 'a' ,\n'b' ]"));
    CHECK(is_valid("$[ 1 : 2 : 3 ]"));
    CHECK(is_valid("$[? @.a == 1 && ! ( @.b ) ]"));
    CHECK(is_valid("$[?length( @.a ) == 1]"));
    CHECK_FALSE(is_valid(" $"));
    CHECK_FALSE(is_valid("$ "));
    CHECK_FALSE(is_valid("$. a"));
    CHECK_FALSE(is_valid("$.. a"));
    CHECK_FALSE(is_valid("$[?length (@.a) == 1]"));
    CHECK_FALSE(is_valid("$[?@.a =\n= 1]"));
    CHECK_FALSE(is_valid("$\v.a"));  // vertical tab is not blank space in RFC 9535
    // Singular queries have no blanks inside their brackets, so these are not
    // singular and cannot be compared (a blank between segments is fine).
    CHECK_FALSE(is_valid("$[?@[ 'a' ] == 1]"));
    CHECK_FALSE(is_valid("$[?@[0 ] == 1]"));
    CHECK(is_valid("$[?@ ['a'] [0] == 1]"));
}

TEST_CASE("string literals take every escape and only paired surrogates", "[jsonpath]") {
    CHECK(is_valid(R"($["\b\f\n\r\t\/\\\""])"));
    CHECK(is_valid(R"($['\'\u00e9\u00E9\uD834\uDD1E'])"));
    CHECK_FALSE(is_valid(R"($["\'"])"));  // only the literal's own quote is escaped
    CHECK_FALSE(is_valid(R"($['\"'])"));
    CHECK_FALSE(is_valid(R"($['\uD834'])"));        // high surrogate alone
    CHECK_FALSE(is_valid(R"($['\uDD1E'])"));        // low surrogate alone
    CHECK_FALSE(is_valid(R"($['\uD834\u0041'])"));  // high surrogate, then no low one
    CHECK_FALSE(is_valid(R"($['\u12'])"));
    CHECK_FALSE(is_valid(R"($['\x41'])"));
    CHECK_FALSE(is_valid(std::string{"$['a\x01']"}));  // raw control character
    CHECK_FALSE(is_valid("$['\xC3\x28']"));            // not UTF-8
    CHECK(error_of(R"($['\uD834\u0041'])") == "at position 11: expected a low surrogate");
}

TEST_CASE("function use must be well-typed, or the query is invalid", "[jsonpath]") {
    CHECK(is_valid("$[?length(@.a) > 1]"));
    CHECK(is_valid("$[?count(@.*) == 2]"));
    CHECK(is_valid("$[?match(@.a, 'x')]"));
    CHECK(is_valid("$[?value(@..a) == 1]"));
    CHECK(is_valid("$[?length(value(@.*)) == 1]"));
    CHECK(is_valid("$[?match(@.a, @.pattern)]"));
    // ValueType result used as a test, LogicalType result compared:
    CHECK(error_of("$[?length(@.a)]") ==
          "at position 3: function 'length' returns a value: compare it instead of testing it");
    CHECK(error_of("$[?match(@.a, 'x') == true]") ==
          "at position 3: function 'match' returns a logical value, which cannot be compared");
    // Arguments against their declared parameter types:
    CHECK(error_of("$[?length(@.*) > 1]") ==
          "at position 10: expected a singular query (only names and indexes) here");
    CHECK(error_of("$[?count(1) > 1]") == "at position 9: argument 1 of 'count' must be a query");
    CHECK_FALSE(is_valid("$[?length(@.a == 1) > 1]"));
    CHECK_FALSE(is_valid("$[?match(@.a, 'x', 'y')]"));
    CHECK_FALSE(is_valid("$[?match(@.a)]"));
    CHECK_FALSE(is_valid("$[?foo(@.a)]"));
    CHECK_FALSE(is_valid("$[?@.* == 1]"));  // a comparable must be singular
    CHECK_FALSE(is_valid("$[?@..a == 1]"));
    CHECK_FALSE(is_valid("$[?1]"));          // a literal is not a test
    CHECK_FALSE(is_valid("$[?!@.a == 1]"));  // '!' negates a test, not a comparison
    CHECK_FALSE(is_valid("$[?!!@.a]"));
    CHECK(is_valid("$[?!(@.a == 1)]"));
}

TEST_CASE("query length and nesting are bounded", "[jsonpath]") {
    QueryLimits small;
    small.max_query_bytes = 16;
    small.max_nesting_depth = 3;
    auto too_long = Query::compile("$.abcdefghijklmnop", small);
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error().code == Errc::limit_exceeded);
    CHECK(Query::compile("$[?((@.a))]", small));
    auto too_deep = Query::compile("$[?(((@.a)))]", small);
    REQUIRE_FALSE(too_deep);
    CHECK(too_deep.error().code == Errc::limit_exceeded);
    // The default depth stops a hostile query long before the stack could.
    std::string deep = "$";
    for (int i = 0; i < 1000; ++i) deep += "[?@";
    QueryLimits long_enough;
    long_enough.max_query_bytes = 1 << 20;
    auto hostile = Query::compile(deep, long_enough);
    REQUIRE_FALSE(hostile);
    CHECK(hostile.error().code == Errc::limit_exceeded);
}

TEST_CASE("a query that uses the whole root as a value says so", "[jsonpath]") {
    CHECK(Query::compile("$")->needs_whole_root());
    CHECK(Query::compile("$[?@ == $]")->needs_whole_root());
    CHECK(Query::compile("$[?length($) > 1]")->needs_whole_root());
    CHECK_FALSE(Query::compile("$[?@.a == $.b]")->needs_whole_root());
    CHECK_FALSE(Query::compile("$[?$]")->needs_whole_root());  // the root always exists
    CHECK_FALSE(Query::compile("$..a")->needs_whole_root());
}
