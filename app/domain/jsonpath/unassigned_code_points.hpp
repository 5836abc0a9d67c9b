#pragma once

#include <string>

namespace nexu::domain::jsonpath {

// RE2 knows every Unicode general category I-Regexp names except Cn
// (unassigned), and its C leaves Cn out. This is Cn as the body of an RE2
// character class ("\x{378}-\x{379}..."), derived once from RE2's own tables
// (whatever is in no assigned category), so it always agrees with them.
// Computed on first use, about a millisecond; thread-safe.
const std::string& unassigned_class_body();

}  // namespace nexu::domain::jsonpath
