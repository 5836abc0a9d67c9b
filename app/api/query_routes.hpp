#pragma once

#include "api/router.hpp"
#include "repositories/query_service.hpp"

namespace nexu::api {

// POST /api/v1/collections/{c}/query {"jsonpath","limit"?,"cursor"?}
// → {"results","paths","next_cursor"}. Runs on the worker pool, never on an
// io thread; the QueryService bounds its time and work.
void add_query_routes(Router& router, repositories::QueryService& queries);

}  // namespace nexu::api
