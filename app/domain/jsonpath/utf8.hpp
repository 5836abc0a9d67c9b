#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace nexu::domain::jsonpath {

// UTF-8 helpers for the query text and for string functions. Pure functions.

struct DecodedChar {
    char32_t code_point;
    std::size_t length;  // bytes it took
};

// The scalar value starting at `pos`, or nullopt for an ill-formed sequence
// (overlong forms, surrogates and values past U+10FFFF are ill-formed too).
std::optional<DecodedChar> decode_utf8(std::string_view text, std::size_t pos);

// Appends the UTF-8 form of a scalar value (callers never pass a surrogate).
void append_utf8(std::string& out, char32_t code_point);

// Unicode scalar values in well-formed UTF-8: every byte that does not
// continue a sequence starts one.
std::size_t count_code_points(std::string_view text);

}  // namespace nexu::domain::jsonpath
