#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/jsonpath/function_table.hpp"

namespace nexu::domain::jsonpath {

// The compiled form of a query: flat vectors indexed by position, built once
// by the Parser and only read afterwards, so one Program serves any number of
// concurrent evaluations. Expressions refer to each other and to sub-queries
// by index, which keeps nodes small and the whole plan in a few allocations.

using ExprIndex = std::uint32_t;
using PathIndex = std::uint32_t;

enum class SelectorKind : std::uint8_t { name, wildcard, index, slice, filter };

struct Slice {
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
    std::int64_t step = 1;
};

struct Selector {
    SelectorKind kind = SelectorKind::wildcard;
    std::string name;        // name selector, already unescaped
    std::int64_t index = 0;  // index selector
    Slice slice;
    ExprIndex filter = 0;  // filter selector: its logical expression
};

struct Segment {
    bool is_descendant = false;
    std::vector<Selector> selectors;
};

// A query: the whole one (`$...`), or one inside a filter (`@...` or `$...`).
struct Path {
    bool is_absolute = true;
    // Every segment is a child segment with one name or index selector
    // (RFC 9535 §2.3.5.1): it selects at most one node.
    bool is_singular = true;
    std::vector<Segment> segments;
};

enum class ExprKind : std::uint8_t {
    logical_or,   // children: operands
    logical_and,  // children: operands
    logical_not,  // children[0]
    comparison,   // op; children[0] and children[1] are comparables
    test,         // children[0] is a query (existence) or a logical function
    literal,      // literal
    query,        // path
    function,     // function; children are the arguments
};

enum class CompareOp : std::uint8_t { eq, ne, lt, le, gt, ge };

inline constexpr std::int32_t kNoRegex = -1;

struct Expr {
    ExprKind kind = ExprKind::literal;
    CompareOp op = CompareOp::eq;
    FunctionId function = FunctionId::length;
    std::vector<ExprIndex> children;
    PathIndex path = 0;
    nlohmann::json literal;
    // match/search with a string literal pattern: index into Program::regexes,
    // compiled once; kNoRegex means the pattern comes from the document.
    std::int32_t regex = kNoRegex;
    // The literal pattern is not an I-Regexp: the function is always false.
    bool is_regex_invalid = false;
};

struct Program {
    PathIndex root = 0;  // the query itself, always absolute
    std::vector<Path> paths;
    std::vector<Expr> exprs;
    std::vector<std::string> regex_patterns;  // literal patterns, by Expr::regex
    // Some part needs the root as one value (a bare `$` as the query, a
    // comparable or a function argument), not only its members.
    bool needs_whole_root = false;
};

}  // namespace nexu::domain::jsonpath
