// The official JSONPath Compliance Test Suite (RFC 9535), read from the
// shared folder at test time (never copied into the project): every case must
// pass. NEXU_JSONPATH_CTS (environment) overrides the path CMake compiled in.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "domain/jsonpath/query.hpp"

namespace {

using nexu::domain::jsonpath::Query;
using nlohmann::json;

std::string cts_path() {
    if (const char* path = std::getenv("NEXU_JSONPATH_CTS"); path != nullptr && *path != '\0') {
        return path;
    }
    return NEXU_JSONPATH_CTS;
}

json load_suite() {
    std::ifstream in{cts_path()};
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

// Whether `values`/`paths` equal one allowed answer: `result`/`result_paths`,
// or any of the alternatives in `results`/`results_paths`.
bool is_expected(const json& test, const json& values, const json& paths) {
    if (test.contains("result")) {
        if (values != test["result"]) return false;
        return !test.contains("result_paths") || paths == test["result_paths"];
    }
    const auto& alternatives = test["results"];
    for (std::size_t i = 0; i < alternatives.size(); ++i) {
        if (values != alternatives[i]) continue;
        if (!test.contains("results_paths") || paths == test["results_paths"][i]) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("every case of the RFC 9535 compliance suite passes", "[jsonpath][cts]") {
    const json suite = load_suite();
    const auto& tests = suite.at("tests");
    std::size_t valid_passed = 0;
    std::size_t invalid_rejected = 0;
    std::size_t with_paths = 0;
    std::vector<std::string> failures;
    for (const auto& test : tests) {
        const std::string name = test.at("name").get<std::string>();
        const std::string selector = test.at("selector").get<std::string>();
        auto query = Query::compile(selector);
        if (test.value("invalid_selector", false)) {
            if (query) {
                failures.push_back(name + ": accepted the invalid " + selector);
            } else {
                ++invalid_rejected;
            }
            continue;
        }
        if (!query) {
            failures.push_back(name + ": rejected " + selector + " (" + query.error().context +
                               ")");
            continue;
        }
        auto matches = query->select(test.at("document"));
        if (!matches) {
            failures.push_back(name + ": evaluation failed: " + matches.error().context);
            continue;
        }
        json values = json::array();
        json paths = json::array();
        for (const auto& match : *matches) {
            values.push_back(*match.value);
            paths.push_back(match.path);
        }
        if (!is_expected(test, values, paths)) {
            failures.push_back(name + ": " + selector + " gave " + values.dump() + " at " +
                               paths.dump());
            continue;
        }
        if (test.contains("result_paths") || test.contains("results_paths")) ++with_paths;
        ++valid_passed;
    }
    std::cout << "JSONPath CTS: " << tests.size() << " cases, " << valid_passed << " valid passed ("
              << with_paths << " with normalized paths checked), " << invalid_rejected
              << " invalid rejected, " << failures.size() << " failed\n";
    for (const auto& failure : failures) UNSCOPED_INFO(failure);
    CHECK(failures.empty());
    CHECK(tests.size() == 703);
    CHECK(invalid_rejected == 247);
    CHECK(valid_passed == 456);
}
