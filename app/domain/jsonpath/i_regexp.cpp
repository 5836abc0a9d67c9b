#include "domain/jsonpath/i_regexp.hpp"

#include <cstdio>

#include "domain/jsonpath/unassigned_code_points.hpp"
#include "domain/jsonpath/utf8.hpp"

namespace nexu::domain::jsonpath {

namespace {

// Every character we emit is either an ASCII letter or digit, or \x{...}: no
// RE2 metacharacter or flag can leak through from the pattern.
void append_literal(std::string& out, char32_t code_point) {
    const bool is_alnum = (code_point >= '0' && code_point <= '9') ||
                          (code_point >= 'a' && code_point <= 'z') ||
                          (code_point >= 'A' && code_point <= 'Z');
    if (is_alnum) {
        out.push_back(static_cast<char>(code_point));
        return;
    }
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "\\x{%X}", static_cast<unsigned>(code_point));
    out += buffer;
}

// SingleCharEsc: the characters a backslash turns into themselves, plus n r t.
bool single_char_escape(char c, char32_t& code_point) {
    switch (c) {
        case 'n':
            code_point = '\n';
            return true;
        case 'r':
            code_point = '\r';
            return true;
        case 't':
            code_point = '\t';
            return true;
        case '(':
        case ')':
        case '*':
        case '+':
        case '-':
        case '.':
        case '?':
        case '[':
        case '\\':
        case ']':
        case '^':
        case '{':
        case '|':
        case '}':
            code_point = static_cast<unsigned char>(c);
            return true;
        default:
            return false;
    }
}

bool is_category(std::string_view name) {
    static constexpr std::string_view kCategories[] = {
        "L",  "Lu", "Ll", "Lt", "Lm", "Lo", "M",  "Mn", "Mc", "Me", "N",  "Nd",
        "Nl", "No", "P",  "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Z",  "Zs",
        "Zl", "Zp", "S",  "Sm", "Sc", "Sk", "So", "C",  "Cc", "Cf", "Co", "Cn"};
    for (const auto category : kCategories) {
        if (category == name) return true;
    }
    return false;
}

constexpr std::string_view kAssigned = "\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{Z}\\p{Cc}\\p{Cf}\\p{Co}";

}  // namespace

Result<std::string> IRegexpTranslator::translate(std::string_view pattern) {
    IRegexpTranslator translator{pattern};
    if (!translator.regexp()) return nexu::fail(Errc::invalid_argument, translator.error_);
    if (translator.pos_ != pattern.size()) {
        translator.fail("unexpected ')'");
        return nexu::fail(Errc::invalid_argument, translator.error_);
    }
    return std::move(translator.out_);
}

bool IRegexpTranslator::regexp() {
    if (!branch()) return false;
    while (is_at('|')) {
        ++pos_;
        out_.push_back('|');
        if (!branch()) return false;
    }
    return true;
}

bool IRegexpTranslator::branch() {
    while (pos_ < pattern_.size() && !is_at('|') && !is_at(')')) {
        if (!piece()) return false;
    }
    return true;
}

bool IRegexpTranslator::piece() {
    if (!atom()) return false;
    if (is_at('*') || is_at('+') || is_at('?') || is_at('{')) return quantifier();
    return true;
}

bool IRegexpTranslator::quantifier() {
    if (!is_at('{')) {
        out_.push_back(pattern_[pos_++]);
        return true;
    }
    ++pos_;
    std::size_t low = 0;
    if (!read_number(low)) return false;
    out_.push_back('{');
    out_ += std::to_string(low);
    if (is_at(',')) {
        ++pos_;
        out_.push_back(',');
        if (!is_at('}')) {
            std::size_t high = 0;
            if (!read_number(high)) return false;
            if (high < low) return fail("a quantifier's maximum is below its minimum");
            out_ += std::to_string(high);
        }
    }
    if (!is_at('}')) return fail("expected '}'");
    ++pos_;
    out_.push_back('}');
    return true;
}

bool IRegexpTranslator::read_number(std::size_t& value) {
    const std::size_t start = pos_;
    value = 0;
    while (pos_ < pattern_.size() && pattern_[pos_] >= '0' && pattern_[pos_] <= '9') {
        // RE2 refuses repeats above 1000 anyway; saturate instead of overflowing.
        if (value < 100000) value = value * 10 + static_cast<std::size_t>(pattern_[pos_] - '0');
        ++pos_;
    }
    if (pos_ == start) return fail("expected a number");
    return true;
}

bool IRegexpTranslator::atom() {
    if (is_at('(')) {
        if (++depth_ > kMaxGroupDepth) return fail("groups nest too deeply");
        ++pos_;
        out_ += "(?:";
        if (!regexp()) return false;
        if (!is_at(')')) return fail("expected ')'");
        ++pos_;
        out_.push_back(')');
        --depth_;
        return true;
    }
    if (is_at('.')) {
        ++pos_;
        out_ += "[^\\n\\r]";
        return true;
    }
    if (is_at('[')) return char_class();
    if (is_at('\\')) {
        if (pos_ + 1 < pattern_.size() &&
            (pattern_[pos_ + 1] == 'p' || pattern_[pos_ + 1] == 'P')) {
            std::string body;
            if (!category(body)) return false;
            out_.push_back('[');
            out_ += body;
            out_.push_back(']');
            return true;
        }
        char32_t code_point = 0;
        if (pos_ + 1 >= pattern_.size() || !single_char_escape(pattern_[pos_ + 1], code_point)) {
            return fail("expected an escapable character after '\\'");
        }
        pos_ += 2;
        append_literal(out_, code_point);
        return true;
    }
    char32_t code_point = 0;
    if (!next_code_point(code_point)) return false;
    switch (code_point) {
        case '*':
        case '+':
        case '?':
        case '{':
        case '}':
        case ']':
        case ')':
        case '|':
            --pos_;
            return fail("expected a character, '(', '[', '.' or '\\'");
        // The grammar reads ^ and $ as ordinary characters, but RFC 9485
        // §5.4 maps them to the engine's assertions, and the compliance
        // suite ("explicit caret", "explicit dollar") expects exactly that.
        // In RE2 without multi-line mode they assert the text's start and end.
        case '^':
            out_.push_back('^');
            return true;
        case '$':
            out_.push_back('$');
            return true;
        default:
            append_literal(out_, code_point);
            return true;
    }
}

bool IRegexpTranslator::char_class() {
    ++pos_;  // '['
    out_.push_back('[');
    if (is_at('^')) {
        ++pos_;
        out_.push_back('^');
    }
    bool is_first = true;
    while (true) {
        if (pos_ >= pattern_.size()) return fail("expected ']'");
        if (is_at(']')) {
            if (is_first) return fail("expected a class member before ']'");
            ++pos_;
            out_.push_back(']');
            return true;
        }
        if (is_at('-')) {
            // '-' is literal only first or last: "[-a]", "[a-]".
            const bool is_last = pos_ + 1 < pattern_.size() && pattern_[pos_ + 1] == ']';
            if (!is_first && !is_last) return fail("expected ']' after a literal '-'");
            ++pos_;
            append_literal(out_, '-');
            is_first = false;
            continue;
        }
        is_first = false;
        if (is_at('\\') && pos_ + 1 < pattern_.size() &&
            (pattern_[pos_ + 1] == 'p' || pattern_[pos_ + 1] == 'P')) {
            std::string body;
            if (!category(body)) return false;
            out_ += body;
            continue;
        }
        char32_t low = 0;
        if (!class_char(low)) return false;
        if (is_at('-') && pos_ + 1 < pattern_.size() && pattern_[pos_ + 1] != ']') {
            ++pos_;
            char32_t high = 0;
            if (!class_char(high)) return false;
            if (high < low) return fail("a class range ends below its start");
            append_literal(out_, low);
            out_.push_back('-');
            append_literal(out_, high);
        } else {
            append_literal(out_, low);
        }
    }
}

bool IRegexpTranslator::class_char(char32_t& code_point) {
    if (is_at('\\')) {
        if (pos_ + 1 >= pattern_.size() || !single_char_escape(pattern_[pos_ + 1], code_point)) {
            return fail("expected an escapable character after '\\'");
        }
        pos_ += 2;
        return true;
    }
    if (is_at('[') || is_at(']') || is_at('-')) return fail("expected a class character");
    return next_code_point(code_point);
}

bool IRegexpTranslator::category(std::string& body) {
    const bool is_complement = pattern_[pos_ + 1] == 'P';
    pos_ += 2;
    if (!is_at('{')) return fail("expected '{' after \\p or \\P");
    const std::size_t close = pattern_.find('}', pos_);
    if (close == std::string_view::npos) return fail("expected '}'");
    const std::string_view name = pattern_.substr(pos_ + 1, close - pos_ - 1);
    if (!is_category(name)) return fail("expected a Unicode general category");
    pos_ = close + 1;
    // RE2 has no Cn, and its C omits Cn: spell both out as positive lists.
    if (name == "Cn") {
        body = is_complement ? std::string{kAssigned} : unassigned_class_body();
        return true;
    }
    if (name == "C") {
        body = is_complement ? "\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{Z}"
                             : "\\p{Cc}\\p{Cf}\\p{Co}" + unassigned_class_body();
        return true;
    }
    body = (is_complement ? "\\P{" : "\\p{") + std::string{name} + "}";
    return true;
}

bool IRegexpTranslator::next_code_point(char32_t& code_point) {
    const auto decoded = decode_utf8(pattern_, pos_);
    if (!decoded) return fail("expected valid UTF-8");
    code_point = decoded->code_point;
    pos_ += decoded->length;
    return true;
}

bool IRegexpTranslator::fail(std::string message) {
    if (error_.empty()) {
        error_ = "at position " + std::to_string(count_code_points(pattern_.substr(0, pos_))) +
                 ": " + std::move(message);
    }
    return false;
}

}  // namespace nexu::domain::jsonpath
