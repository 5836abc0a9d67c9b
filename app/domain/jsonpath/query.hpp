#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "domain/jsonpath/collection_root.hpp"
#include "domain/jsonpath/evaluator.hpp"
#include "domain/jsonpath/limits.hpp"

namespace nexu::domain::jsonpath {

struct CompiledQuery;

// One result of select(): the value (inside the evaluated document) and its
// Normalized Path.
struct Match {
    const nlohmann::json* value;
    std::string path;
};

// An RFC 9535 JSONPath query, compiled once and evaluated any number of
// times, from any number of threads at once (evaluation only reads it, but
// for a locked cache of regexes taken from documents).
//
//   auto query = Query::compile("$[?@.age > 90 && @.active == true]");
//   if (!query) return problem_for(query.error());  // "at position N: ..."
//   query->evaluate(collection, [&](const json& doc, const NormalizedPath& path) {
//       page.push_back(doc, path.to_string());
//       return page.size() < limit;  // false stops the walk: the page is full
//   });
//
// Compile errors: Errc::invalid_argument for bad syntax or a query that is
// not well-typed, its context "at position N: expected ..."; limit_exceeded
// when QueryLimits are passed. Evaluation errors: limit_exceeded when the
// EvaluationBudget runs out (never a hang, never unbounded memory).
class Query {
public:
    static Result<Query> compile(std::string_view text, const QueryLimits& limits = {});

    Query(Query&&) noexcept;
    Query& operator=(Query&&) noexcept;
    ~Query();

    // Results in RFC 9535 order over one JSON value.
    Result<EvaluationStats> evaluate(const nlohmann::json& root,
                                     const ResultSink& sink,
                                     const EvaluationBudget& budget = {}) const;
    // Results over a root object whose members are supplied one by one (see
    // CollectionRoot for what each query shape reads).
    Result<EvaluationStats> evaluate(const CollectionRoot& root,
                                     const ResultSink& sink,
                                     const EvaluationBudget& budget = {}) const;
    // All results over one JSON value, values pointing into `root`.
    Result<std::vector<Match>> select(const nlohmann::json& root,
                                      const EvaluationBudget& budget = {}) const;

    // True when evaluating over a CollectionRoot needs its materialize().
    bool needs_whole_root() const;
    const std::string& text() const { return text_; }

private:
    Query(std::string text, std::unique_ptr<CompiledQuery> compiled);

    std::string text_;
    std::unique_ptr<CompiledQuery> compiled_;
};

}  // namespace nexu::domain::jsonpath
