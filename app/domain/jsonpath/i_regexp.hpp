#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "domain/error.hpp"

namespace nexu::domain::jsonpath {

// Translates an I-Regexp (RFC 9485) into RE2 syntax with the same meaning,
// and rejects (Errc::invalid_argument, naming the position) anything
// I-Regexp does not allow: \d \w \s, backreferences, lazy or possessive
// quantifiers, anchors as operators, lookaround, class subtraction, ...
//
// Meaning preserved: `.` matches any character but \n and \r; `^` and `$`
// outside a class assert the start and end (RFC 9485 §5.4); groups do not capture; \p{..}/\P{..}
// are the Unicode general categories (C and Cn include unassigned code points, which RE2 lacks, so
// they are spelled out). Anchoring is the caller's choice: match() uses RE2::FullMatch, search()
// RE2::PartialMatch.
//
// Pure; groups deeper than kMaxGroupDepth are refused to bound recursion.
class IRegexpTranslator {
public:
    static constexpr std::size_t kMaxGroupDepth = 64;

    static Result<std::string> translate(std::string_view pattern);

private:
    explicit IRegexpTranslator(std::string_view pattern) : pattern_(pattern) {}

    bool regexp();
    bool branch();
    bool piece();
    bool atom();
    bool quantifier();
    bool char_class();
    bool class_char(char32_t& code_point);
    // \p{X} or \P{X} as the body of an RE2 class: positive, so it can sit
    // inside "[^...]" as well as "[...]".
    bool category(std::string& body);
    bool read_number(std::size_t& value);
    bool next_code_point(char32_t& code_point);
    bool is_at(char c) const { return pos_ < pattern_.size() && pattern_[pos_] == c; }
    bool fail(std::string message);

    std::string_view pattern_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;
    std::string out_;
    std::string error_;
};

}  // namespace nexu::domain::jsonpath
