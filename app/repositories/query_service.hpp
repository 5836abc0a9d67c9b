#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/access/collection_rules.hpp"
#include "infrastructure/store.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/document_service.hpp"
#include "repositories/field_indexes.hpp"
#include "repositories/parsed_document_cache.hpp"

namespace nexu::repositories {

struct QuerySettings {
    std::chrono::milliseconds timeout{5000};          // wall clock per query (then 503)
    std::uint64_t max_nodes_visited = 20'000'000;     // JSONPath work budget (then 422)
    std::size_t max_materialized_documents = 10'000;  // for queries needing `$` as a whole
};

// POST /collections/{c}/query: an RFC 9535 query over the collection
// presented as one object keyed by document id, in `_id` order, evaluated
// document by document over the store's scan and the parsed-document cache
// (the collection is never built as one value, except for the rare query
// that needs `$` itself, within a bound). Only documents the caller may read
// are members. Declared field indexes narrow `$[?@.f OP literal && ...]`.
// Results are paged by result node with an opaque cursor.
//
// Thread-safe; blocks and burns CPU: call from workers. Bounded in time and
// work; a query past either stops and says so.
class QueryService {
public:
    static constexpr std::size_t kDefaultLimit = 100;
    static constexpr std::size_t kMaxLimit = 1000;

    QueryService(infrastructure::Store& store,
                 DocumentService& documents,
                 ParsedDocumentCache& parsed,
                 FieldIndexes* indexes,
                 QuerySettings settings = {})
        : store_(store),
          documents_(documents),
          parsed_(parsed),
          indexes_(indexes),
          settings_(settings) {}

    // The response body {"results":[...],"paths":[...],"next_cursor":...}.
    // bad_request for an invalid query (detail "at position N: ...") or
    // cursor; unprocessable when the work budget runs out; storage/unavailable
    // on timeout.
    DataResult<std::string> run(const domain::access::Principal& caller,
                                std::string_view collection,
                                std::string_view jsonpath,
                                std::size_t limit,
                                std::string_view cursor);

private:
    infrastructure::Store& store_;
    DocumentService& documents_;
    ParsedDocumentCache& parsed_;
    FieldIndexes* indexes_;
    QuerySettings settings_;
};

}  // namespace nexu::repositories
