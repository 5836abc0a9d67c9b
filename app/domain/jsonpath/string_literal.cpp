#include "domain/jsonpath/string_literal.hpp"

#include <optional>

#include "domain/jsonpath/utf8.hpp"

namespace nexu::domain::jsonpath {

namespace {

std::optional<char32_t> read_hex4(std::string_view text, std::size_t pos) {
    if (pos > text.size() || text.size() - pos < 4) return std::nullopt;
    char32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const char c = text[pos + i];
        char32_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<char32_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<char32_t>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<char32_t>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
        value = value * 16 + digit;
    }
    return value;
}

StringLiteral failure(std::size_t pos, std::string_view expected) {
    StringLiteral result;
    result.error = pos;
    result.expected = expected;
    return result;
}

}  // namespace

StringLiteral read_string_literal(std::string_view text, std::size_t pos) {
    const char quote = text[pos];
    StringLiteral result;
    std::size_t i = pos + 1;
    while (true) {
        if (i >= text.size()) return failure(i, "a closing quote");
        const char c = text[i];
        if (c == quote) break;
        if (static_cast<unsigned char>(c) < 0x20) {
            return failure(i, "an escaped control character");
        }
        if (c != '\\') {
            const auto decoded = decode_utf8(text, i);
            if (!decoded) return failure(i, "valid UTF-8");
            result.value.append(text.substr(i, decoded->length));
            i += decoded->length;
            continue;
        }
        if (i + 1 >= text.size()) return failure(i + 1, "an escape character");
        const char escape = text[i + 1];
        switch (escape) {
            case 'b':
                result.value.push_back('\b');
                break;
            case 'f':
                result.value.push_back('\f');
                break;
            case 'n':
                result.value.push_back('\n');
                break;
            case 'r':
                result.value.push_back('\r');
                break;
            case 't':
                result.value.push_back('\t');
                break;
            case '/':
                result.value.push_back('/');
                break;
            case '\\':
                result.value.push_back('\\');
                break;
            case '\'':
            case '"':
                // Only the literal's own quote may be escaped: "\'" is invalid.
                if (escape != quote) return failure(i + 1, "a valid escape");
                result.value.push_back(escape);
                break;
            case 'u': {
                const auto unit = read_hex4(text, i + 2);
                if (!unit) return failure(i + 2, "four hex digits");
                char32_t code_point = *unit;
                std::size_t consumed = 6;
                if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
                    return failure(i, "a high surrogate before a low one");
                }
                if (code_point >= 0xD800 && code_point <= 0xDBFF) {
                    const std::size_t low_at = i + 6;
                    if (text.substr(low_at, 2) != "\\u") {
                        return failure(low_at, "a \\u low surrogate after a high one");
                    }
                    const auto low = read_hex4(text, low_at + 2);
                    if (!low || *low < 0xDC00 || *low > 0xDFFF) {
                        return failure(low_at + 2, "a low surrogate");
                    }
                    code_point = 0x10000 + ((code_point - 0xD800) << 10) + (*low - 0xDC00);
                    consumed = 12;
                }
                append_utf8(result.value, code_point);
                i += consumed;
                continue;
            }
            default:
                return failure(i + 1, "a valid escape");
        }
        i += 2;
    }
    result.is_valid = true;
    result.end = i + 1;
    return result;
}

}  // namespace nexu::domain::jsonpath
