#include "domain/file_path.hpp"

#include <catch2/catch.hpp>

using namespace nexu;
using nexu::domain::parse_file_path;

TEST_CASE("file paths made of allowed segments are accepted and decoded", "[file_path]") {
    const std::pair<std::string, std::string> accepted[] = {
        {"a", "a"},
        {"report.pdf", "report.pdf"},
        {"dir/sub/file-1_2.txt", "dir/sub/file-1_2.txt"},
        {"...", "..."},  // only `.` and `..` themselves are special
        {"a..b/.hidden", "a..b/.hidden"},
        {"%41bc", "Abc"},  // an escaped allowed character is that character
        {std::string(1024, 'x'), std::string(1024, 'x')},
    };
    for (const auto& [raw, decoded] : accepted) {
        INFO(raw);
        auto parsed = parse_file_path(raw);
        REQUIRE(parsed);
        CHECK(*parsed == decoded);
        CHECK(domain::is_valid_file_path(*parsed));
    }
}

TEST_CASE("traversal, empty segments, absolute paths, NUL, backslash and long paths are refused",
          "[file_path]") {
    const std::string refused[] = {
        "",
        ".",
        "..",
        "../etc/passwd",
        "a/../b",
        "a/./b",
        "a/..",
        "%2e%2e",
        "%2E%2E/x",
        "a/%2e",
        "a%2fb",  // an encoded separator never splits a segment
        "a%2Fb",
        "..%2fetc",
        "/etc/passwd",
        "a//b",
        "a/",
        "%00",
        "a%00b",
        "a\\b",
        "a%5cb",
        "a b",
        "a%20b",
        "caf\xc3\xa9",
        "a?b",
        "a%",
        "a%4",
        "a%zz",
        std::string(1025, 'x'),
        std::string(600, 'x') + "/" + std::string(424, 'y'),  // 1025 bytes in all
        std::string(1024, 'x') + "%41",
    };
    for (const auto& raw : refused) {
        INFO(raw);
        auto parsed = parse_file_path(raw);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == Errc::invalid_argument);
        CHECK_FALSE(parsed.error().context.empty());
    }
}

TEST_CASE("list prefixes may end inside a segment or after a slash", "[file_path]") {
    for (const std::string_view prefix : {"", "dir/", "dir/rep", "a/b/c", "a.b"}) {
        INFO(prefix);
        CHECK(domain::is_valid_file_prefix(prefix));
    }
    for (const std::string_view prefix : {"/", "/dir", "..", "../", "a/../", "a//", "a\\", "a b"}) {
        INFO(prefix);
        CHECK_FALSE(domain::is_valid_file_prefix(prefix));
    }
    CHECK_FALSE(domain::is_valid_file_prefix(std::string_view{"a\0b", 3}));
}
