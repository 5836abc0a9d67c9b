#include "domain/jsonpath/query.hpp"

#include <re2/re2.h>

#include "domain/jsonpath/compiled_query.hpp"
#include "domain/jsonpath/parser.hpp"

namespace nexu::domain::jsonpath {

Result<Query> Query::compile(std::string_view text, const QueryLimits& limits) {
    auto program = Parser{text, limits}.parse();
    if (!program) return tl::make_unexpected(std::move(program.error()));
    auto compiled = std::make_unique<CompiledQuery>();
    compiled->program = std::move(*program);
    // Literal patterns are compiled here, once; an invalid one stays nullptr
    // and makes its match()/search() false rather than the query invalid.
    for (const auto& pattern : compiled->program.regex_patterns) {
        compiled->regexes.push_back(RegexCache::compile(pattern));
    }
    return Query{std::string{text}, std::move(compiled)};
}

Query::Query(std::string text, std::unique_ptr<CompiledQuery> compiled)
    : text_(std::move(text)), compiled_(std::move(compiled)) {}
Query::Query(Query&&) noexcept = default;
Query& Query::operator=(Query&&) noexcept = default;
Query::~Query() = default;

bool Query::needs_whole_root() const {
    return compiled_->program.needs_whole_root;
}

Result<EvaluationStats> Query::evaluate(const nlohmann::json& root,
                                        const ResultSink& sink,
                                        const EvaluationBudget& budget) const {
    return Evaluator{*compiled_, budget}.run(root, sink);
}

Result<EvaluationStats> Query::evaluate(const CollectionRoot& root,
                                        const ResultSink& sink,
                                        const EvaluationBudget& budget) const {
    return Evaluator{*compiled_, budget}.run(root, sink);
}

Result<std::vector<Match>> Query::select(const nlohmann::json& root,
                                         const EvaluationBudget& budget) const {
    std::vector<Match> matches;
    auto collect = [&matches](const nlohmann::json& value, const NormalizedPath& path) {
        matches.push_back(Match{&value, path.to_string()});
        return true;
    };
    auto outcome = evaluate(root, collect, budget);
    if (!outcome) return tl::make_unexpected(std::move(outcome.error()));
    return matches;
}

}  // namespace nexu::domain::jsonpath
