#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nexu::domain::jsonpath {

// Reads one RFC 9535 string literal (§2.3.1.1) starting at its opening quote:
// either quote, the escapes \b \f \n \r \t \/ \\ \' or \" (each only inside
// its own kind of quote for the quotes), \uXXXX with hex digits in either
// case, and surrogates only as a high-low \u pair. Raw control characters
// (below U+0020) are not allowed. The text must already be valid UTF-8.
struct StringLiteral {
    bool is_valid = false;
    std::string value;      // unescaped, when valid
    std::size_t end = 0;    // just past the closing quote, when valid
    std::size_t error = 0;  // offending byte offset, when not
    std::string_view expected;
};

StringLiteral read_string_literal(std::string_view text, std::size_t pos);

}  // namespace nexu::domain::jsonpath
