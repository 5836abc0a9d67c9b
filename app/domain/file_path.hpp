#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "domain/error.hpp"

namespace nexu::domain {

// The rules of API.md for a stored file's path: one or more `/`-separated
// segments of [A-Za-z0-9._-], no `.` or `..` segment, no empty segment (so no
// leading, trailing or doubled `/`), at most kMaxFilePathBytes bytes.
inline constexpr std::size_t kMaxFilePathBytes = 1024;

// Validates a path as it arrived in a request target (after the route's
// prefix, before the query string): each segment is percent-decoded on its
// own, so `%2f` can never create a separator and `%2e%2e` is the `..` it
// spells. Returns the decoded path; Errc::invalid_argument with a reason a
// client may read otherwise (NUL, backslash, bad escape, traversal, length).
Result<std::string> parse_file_path(std::string_view raw);

// Whether an already decoded path follows the rules (for prefixes and tests).
bool is_valid_file_path(std::string_view path);

// Whether `prefix` may be used to list files: empty, or a path prefix made of
// the allowed characters and `/` (it may end in `/` or inside a segment), with
// no `.`/`..` segment and within the length limit.
bool is_valid_file_prefix(std::string_view prefix);

}  // namespace nexu::domain
