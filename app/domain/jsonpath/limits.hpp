#pragma once

#include <cstddef>
#include <cstdint>

namespace nexu::domain::jsonpath {

// What a query may cost to compile. Exceeding one is Errc::limit_exceeded,
// reported before any work that could grow with it.
struct QueryLimits {
    std::size_t max_query_bytes = 4096;
    // Filters, parentheses and function calls inside one another; the parser
    // recurses once per level, so this also bounds its stack.
    std::size_t max_nesting_depth = 32;
};

// What one evaluation may cost. Every node a selector or a descendant segment
// touches counts, inside filters too, so `$..*..*..*` over a deep document
// stops at the budget instead of running for hours; the walk is depth-first
// and keeps no intermediate node lists, so memory stays proportional to the
// document depth.
struct EvaluationBudget {
    std::uint64_t max_nodes_visited = 50'000'000;
    std::uint64_t max_results = 1'000'000;
    // Deeper values are refused rather than recursed into: parse_json already
    // caps untrusted input at 64 levels, this protects values built in code.
    std::size_t max_document_depth = 256;
};

}  // namespace nexu::domain::jsonpath
