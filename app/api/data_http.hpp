#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "api/http_types.hpp"
#include "repositories/document_service.hpp"

namespace nexu::api {

// What the collection, document and query routes share: turning a refused
// data operation into its problem, ETags and preconditions, page limits.

// The problem response for a refused data operation.
Response data_failure_response(const repositories::DataFailure& failure,
                               std::string_view request_id);

// `"<rev>"`
std::string etag_of(std::uint64_t rev);

// If-Match / If-None-Match: * from the request headers.
repositories::WritePreconditions write_preconditions(const Request& request);

// Whether an If-None-Match header lists `rev` (or `*`): answer 304.
bool is_not_modified(const Request& request, std::uint64_t rev);

// `?limit=`: the default when absent; nullopt when not a number in 1..max
// (the caller answers 400).
std::optional<std::size_t> page_limit(const Request& request,
                                      std::size_t default_limit,
                                      std::size_t max_limit);

// A 400 problem for a bad parameter, naming it.
Response bad_parameter(std::string_view name, std::string_view detail);

}  // namespace nexu::api
