#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/jsonpath/ast.hpp"

namespace nexu::repositories {

// `@.field OP literal` (or `literal OP @.field`, turned around): one
// top-level conjunct of a query's first filter, which a field index can
// answer with a superset of the documents it holds for.
struct IndexableComparison {
    std::string field;
    domain::jsonpath::CompareOp op = domain::jsonpath::CompareOp::eq;
    nlohmann::json literal;
};

// What the query service needs to know of a (valid) query's text before
// evaluating it over a collection.
struct QueryPlan {
    // The first segment is one wildcard or one filter selector on the
    // collection object: results then come document by document in `_id`
    // order, so a cursor can say "document D, after its first K results".
    bool is_member_ordered = false;
    // The query is `$[?FILTER]...` where FILTER is a conjunction that does not
    // look at the root (`$`): documents failing one conjunct yield nothing, so
    // evaluating over only the documents an index proposes is exact.
    std::vector<IndexableComparison> comparisons;
};

// Reads the shape of a query that Query::compile accepted. Conservative:
// anything it does not recognise gives a plan with no shortcuts.
QueryPlan plan_query(std::string_view text);

}  // namespace nexu::repositories
