#include <string>

#include <catch2/catch.hpp>
#include <re2/re2.h>

#include "domain/jsonpath/i_regexp.hpp"
#include "domain/jsonpath/regex_cache.hpp"

using nexu::domain::jsonpath::IRegexpTranslator;
using nexu::domain::jsonpath::RegexCache;

namespace {

std::string translated(std::string_view pattern) {
    auto out = IRegexpTranslator::translate(pattern);
    return out ? *out : "<invalid: " + out.error().context + ">";
}

bool is_rejected(std::string_view pattern) {
    return !IRegexpTranslator::translate(pattern);
}

// match() semantics: the whole subject.
bool matches(std::string_view pattern, std::string_view subject) {
    const auto regex = RegexCache::compile(pattern);
    REQUIRE(regex != nullptr);
    return RE2::FullMatch(re2::StringPiece{subject.data(), subject.size()}, *regex);
}

}  // namespace

TEST_CASE("I-Regexp translates into RE2 syntax with the same meaning", "[jsonpath]") {
    CHECK(translated("ab1") == "ab1");
    CHECK(translated("a.c") == "a[^\\n\\r]c");
    CHECK(translated("(a|b)*") == "(?:a|b)*");
    CHECK(translated("a{2,3}b{2}c{1,}") == "a{2,3}b{2}c{1,}");
    CHECK(translated("[a-z_]") == "[a-z\\x{5F}]");
    CHECK(translated("[^\\]\\-]") == "[^\\x{5D}\\x{2D}]");
    CHECK(translated("\\p{Lu}\\P{Nd}") == "[\\p{Lu}][\\P{Nd}]");
    CHECK(translated("a+b?") == "a+b?");
    CHECK(translated("") == "");
    CHECK(translated("a|") == "a|");
    // Punctuation never reaches RE2 raw, so RE2 flags like (?i) cannot be smuggled in.
    CHECK(translated("\\(\\?i\\)") == "\\x{28}\\x{3F}i\\x{29}");
}

TEST_CASE("I-Regexp rejects what RFC 9485 does not allow", "[jsonpath]") {
    for (const auto* pattern : {"\\d",
                                "\\w",
                                "\\s",
                                "\\S",
                                "\\b",
                                "\\1",
                                "(?:a)",
                                "(?i)a",
                                "a*?",
                                "a+?",
                                "a**",
                                "*a",
                                "a{2",
                                "a{,3}",
                                "a{3,2}",
                                "[]",
                                "[^]",
                                "[a",
                                "a)",
                                "(a",
                                "]",
                                "}",
                                "{1}",
                                "[a-b-c]",
                                "[z-a]",
                                "[[a]]",
                                "[a-\\p{L}]",
                                "\\p{Xx}",
                                "\\p{IsBasicLatin}",
                                "\\p{L",
                                "\\",
                                "\\a",
                                "\\u0041",
                                "\\x41",
                                "a|*"}) {
        INFO(pattern);
        CHECK(is_rejected(pattern));
    }
    CHECK(translated("a)") == "<invalid: at position 1: unexpected ')'>");
}

TEST_CASE("I-Regexp dot matches any character but line breaks", "[jsonpath]") {
    CHECK(matches("a.c", "abc"));
    CHECK(matches("a.c",
                  "a\xf0\x9d\x84\x9e"
                  "c"));                  // one character outside the BMP
    CHECK(matches(".", "\xe2\x80\xa8"));  // U+2028 is not \n or \r
    CHECK_FALSE(matches("a.c", "a\nc"));
    CHECK_FALSE(matches("a.c", "a\rc"));
    CHECK(matches("[.]", "."));
    CHECK_FALSE(matches("[.]", "x"));
}

TEST_CASE("I-Regexp categories include unassigned code points where XSD does", "[jsonpath]") {
    CHECK(matches("\\p{Lu}", "A"));
    CHECK_FALSE(matches("\\p{Lu}", "a"));
    CHECK(matches("\\P{Lu}", "a"));
    CHECK(matches("[^\\P{L}]", "x"));  // a complement inside a negated class
    CHECK_FALSE(matches("[^\\P{L}]", "1"));
    const std::string unassigned = "\xcd\xb8";  // U+0378
    CHECK(matches("\\p{Cn}", unassigned));
    CHECK(matches("\\p{C}", unassigned));
    CHECK(matches("\\p{C}", "\x01"));
    CHECK_FALSE(matches("\\p{Cn}", "a"));
    CHECK(matches("\\P{Cn}", "a"));
    CHECK(matches("[^\\p{Cn}]", "a"));
    CHECK_FALSE(matches("[^\\p{Cn}]", unassigned));
    CHECK_FALSE(matches("\\P{C}", unassigned));
}

TEST_CASE("literal ^ and $ outside classes assert the ends, inside they are characters",
          "[jsonpath]") {
    CHECK(matches("^ab.*", "abc"));
    CHECK(matches(".*bc$", "abc"));
    CHECK(matches("[$^]+", "$^"));
    CHECK(matches("\\^[$]", "^$"));
    CHECK(is_rejected("\\$"));  // $ is not among the escapable characters
}

TEST_CASE("the regex cache compiles a pattern once and keeps invalid ones as null", "[jsonpath]") {
    RegexCache cache;
    const auto first = cache.get("a+");
    REQUIRE(first != nullptr);
    CHECK(cache.get("a+") == first);
    CHECK(cache.get("\\d") == nullptr);
    CHECK(cache.get("a{1001}") == nullptr);  // valid I-Regexp, beyond RE2's repeat limit
    for (int i = 0; i < 200; ++i) {
        std::string pattern = "x";
        pattern += std::to_string(i);  // not "x" + ...: g++ 12 reports a false -Wrestrict
        CHECK(cache.get(pattern) != nullptr);
    }
}
