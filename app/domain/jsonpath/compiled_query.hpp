#pragma once

#include <memory>
#include <vector>

#include "domain/jsonpath/ast.hpp"
#include "domain/jsonpath/regex_cache.hpp"

namespace re2 {
class RE2;
}

namespace nexu::domain::jsonpath {

// Everything an evaluation reads: the parsed program, the regexes compiled
// from its literal patterns (nullptr where a pattern is not an I-Regexp, so
// the function is false), and the cache for patterns taken from documents.
// Immutable after compilation but for the cache, which locks.
struct CompiledQuery {
    Program program;
    std::vector<std::shared_ptr<const re2::RE2>> regexes;  // by Expr::regex
    RegexCache dynamic_regexes;
};

}  // namespace nexu::domain::jsonpath
