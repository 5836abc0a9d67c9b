#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "domain/jsonpath/collection_root.hpp"
#include "domain/jsonpath/compiled_query.hpp"
#include "domain/jsonpath/limits.hpp"
#include "domain/jsonpath/normalized_path.hpp"
#include "domain/jsonpath/value.hpp"

namespace nexu::domain::jsonpath {

// Receives each result in order; returning false stops the evaluation (a
// page is full), which is not an error.
using ResultSink = std::function<bool(const nlohmann::json& value, const NormalizedPath& path)>;

struct EvaluationStats {
    std::uint64_t nodes_visited = 0;
    std::uint64_t results = 0;
    bool is_stopped_by_sink = false;
};

// One evaluation of a compiled query: a depth-first walk that hands each
// result to the sink as soon as it is found, so nothing is collected and the
// first results of a large collection cost no more than the documents they
// come from. Cheap to construct; used once, on one thread. Many Evaluators
// may run over the same CompiledQuery at the same time.
//
// Failures (Errc::limit_exceeded when the budget runs out, invalid_argument
// when a collection cannot supply a whole root that is needed) end the walk
// at once; results already delivered stay delivered.
class Evaluator {
public:
    Evaluator(const CompiledQuery& query, const EvaluationBudget& budget)
        : query_(query), program_(query.program), budget_(budget) {}

    Result<EvaluationStats> run(const nlohmann::json& root, const ResultSink& sink);
    Result<EvaluationStats> run(const CollectionRoot& root, const ResultSink& sink);

private:
    using Segments = std::span<const Segment>;

    Result<EvaluationStats> run_top(const ResultSink& sink);

    template <class Sink>
    bool walk(Segments segments, const nlohmann::json& node, std::size_t depth, Sink& sink);
    template <class Sink>
    bool descend(const Segment& segment,
                 Segments rest,
                 const nlohmann::json& node,
                 std::size_t depth,
                 Sink& sink);
    template <class Sink>
    bool select(const Selector& selector,
                Segments rest,
                const nlohmann::json& node,
                std::size_t depth,
                Sink& sink);
    template <class Sink>
    bool enter(PathElement element,
               Segments rest,
               const nlohmann::json& child,
               std::size_t depth,
               Sink& sink);
    template <class Sink>
    bool walk_root(Segments segments, Sink& sink);
    template <class Sink>
    bool walk_members(const Selector& selector, Segments rest, Sink& sink);
    template <class Sink>
    bool walk_query(const Path& path, const nlohmann::json& current, Sink& sink);

    bool holds(ExprIndex index, const nlohmann::json& current);
    bool test(ExprIndex index, const nlohmann::json& current);
    Value value_of(ExprIndex index, const nlohmann::json& current);
    Value singular(const Path& path, const nlohmann::json& current);
    Value call_value_function(const Expr& call, const nlohmann::json& current);
    bool call_regex_function(const Expr& call, const nlohmann::json& current);
    const nlohmann::json* find_member(std::string_view name);
    const nlohmann::json* whole_root();

    bool visit() {
        if (++stats_.nodes_visited <= budget_.max_nodes_visited) return true;
        return fail(Errc::limit_exceeded, "the query visited more than " +
                                              std::to_string(budget_.max_nodes_visited) + " nodes");
    }
    bool fail(Errc code, std::string context);

    const CompiledQuery& query_;
    const Program& program_;
    EvaluationBudget budget_;
    const nlohmann::json* root_ = nullptr;
    const CollectionRoot* collection_ = nullptr;
    const nlohmann::json* materialized_root_ = nullptr;
    std::vector<PathElement> path_;
    EvaluationStats stats_;
    std::optional<Error> error_;
};

}  // namespace nexu::domain::jsonpath
