#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"

namespace nexu::domain {

// The deepest JSON accepted anywhere, counting the top-level value as 1.
inline constexpr std::size_t kMaxJsonDepth = 64;

// The one JSON parser for untrusted input (request bodies, WebSocket frames,
// imports). The nesting depth is checked by a flat scan before nlohmann sees
// the text, because its recursive code overflows the stack on deep input.
// Errors are Errc::invalid_argument (bad JSON) or Errc::limit_exceeded (too
// deep), with a context that names the byte position and is safe to show.
Result<nlohmann::json> parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// The nesting depth of `text` (1 for `[]`, 0 for a scalar), or the byte
// position where it first passes `max_depth`.
struct DepthCheck {
    bool within_limit;
    std::size_t position;  // where the limit was passed, when it was
};
DepthCheck check_json_depth(std::string_view text, std::size_t max_depth);

}  // namespace nexu::domain
