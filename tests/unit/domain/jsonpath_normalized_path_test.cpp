#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "domain/jsonpath/normalized_path.hpp"
#include "domain/jsonpath/query.hpp"

using nexu::domain::jsonpath::append_name_selector;
using nexu::domain::jsonpath::NormalizedPath;
using nexu::domain::jsonpath::PathElement;
using nexu::domain::jsonpath::Query;

namespace {

std::string name_selector(std::string_view name) {
    std::string out;
    append_name_selector(out, name);
    return out;
}

}  // namespace

// RFC 9535 §2.7, Table 16 and the normal-escapable rules.
TEST_CASE("normalized paths escape names as RFC 9535 section 2.7 says", "[jsonpath]") {
    CHECK(name_selector("a") == "['a']");
    CHECK(name_selector("a'b") == R"(['a\'b'])");
    CHECK(name_selector("a\\b") == R"(['a\\b'])");
    CHECK(name_selector("\b\f\n\r\t") == R"(['\b\f\n\r\t'])");
    CHECK(name_selector(std::string{"\x00\x01\x1f", 3}) == R"(['\u0000\u0001\u001f'])");
    CHECK(name_selector("\"/") == R"(['"/'])");  // neither " nor / is escaped
    CHECK(name_selector("\x7f") == "['\x7f']");  // DEL is not a control in RFC 9535's sense
    CHECK(name_selector("é☺") == "['é☺']");
    CHECK(name_selector("") == "['']");
}

TEST_CASE("a normalized path lists names and indexes from the root", "[jsonpath]") {
    const std::vector<PathElement> elements{PathElement::member("store"),
                                            PathElement::member("book"), PathElement::element(0)};
    CHECK(NormalizedPath{elements}.to_string() == "$['store']['book'][0]");
    CHECK(NormalizedPath{{}}.to_string() == "$");
}

TEST_CASE("results carry the normalized path of each node, in document order", "[jsonpath]") {
    const auto document = nlohmann::json::parse(R"({"a": [{"b'": 1}, {"b'": 2}], "c\n": 3})");
    auto matches = Query::compile("$..*")->select(document);
    REQUIRE(matches);
    std::vector<std::string> paths;
    for (const auto& match : *matches) paths.push_back(match.path);
    CHECK(paths == std::vector<std::string>{"$['a']", R"($['c\n'])", "$['a'][0]", "$['a'][1]",
                                            R"($['a'][0]['b\''])", R"($['a'][1]['b\''])"});
}
