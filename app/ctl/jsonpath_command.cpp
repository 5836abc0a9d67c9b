#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ctl/command.hpp"
#include "domain/json_body.hpp"
#include "domain/jsonpath/query.hpp"

namespace nexu::ctl {

namespace {

constexpr std::string_view kUsage =
    "usage: nexuctl jsonpath QUERY [FILE]\n"
    "Evaluates the RFC 9535 JSONPath QUERY over the JSON document in FILE (stdin\n"
    "when FILE is absent or '-') and prints {\"results\":[...],\"paths\":[...]}:\n"
    "the selected values and their normalized paths, in document order.\n"
    "Exit status: 0 on success, 2 for an invalid query or bad usage, 1 for\n"
    "unreadable or invalid JSON (or a query that exceeds its evaluation budget).\n";

bool read_input(std::string_view file, std::string& text) {
    if (file.empty() || file == "-") {
        text.assign(std::istreambuf_iterator<char>{std::cin}, {});
        return !std::cin.bad();
    }
    std::ifstream in{std::string{file}, std::ios::binary};
    if (!in) return false;
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = std::move(buffer).str();
    return !in.bad();
}

}  // namespace

int run_jsonpath(std::span<const std::string_view> args) {
    std::vector<std::string_view> positional;
    for (const auto arg : args) {
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        }
        if (arg.size() > 1 && arg.starts_with("--")) {
            std::cerr << "nexuctl jsonpath: unknown option '" << arg << "'\n" << kUsage;
            return 2;
        }
        positional.push_back(arg);
    }
    if (positional.empty() || positional.size() > 2) {
        std::cerr << kUsage;
        return 2;
    }
    auto query = domain::jsonpath::Query::compile(positional[0]);
    if (!query) {
        std::cerr << "nexuctl jsonpath: invalid query: " << query.error().context << '\n';
        return 2;
    }
    const std::string_view file = positional.size() == 2 ? positional[1] : std::string_view{};
    std::string text;
    if (!read_input(file, text)) {
        std::cerr << "nexuctl jsonpath: cannot read " << (file.empty() ? "stdin" : file) << '\n';
        return 1;
    }
    auto document = domain::parse_json(text);
    if (!document) {
        std::cerr << "nexuctl jsonpath: invalid JSON: " << document.error().context << '\n';
        return 1;
    }
    nlohmann::json results = nlohmann::json::array();
    nlohmann::json paths = nlohmann::json::array();
    auto outcome = query->evaluate(
        *document, [&](const nlohmann::json& value, const domain::jsonpath::NormalizedPath& path) {
            results.push_back(value);
            paths.push_back(path.to_string());
            return true;
        });
    if (!outcome) {
        std::cerr << "nexuctl jsonpath: " << outcome.error().context << '\n';
        return 1;
    }
    // Written by hand to keep API.md's member order (nlohmann sorts keys).
    // Invalid UTF-8 cannot come out of parse_json, so strict dumping cannot throw here.
    std::cout << R"({"results":)" << results.dump() << R"(,"paths":)" << paths.dump() << "}\n";
    return 0;
}

}  // namespace nexu::ctl
