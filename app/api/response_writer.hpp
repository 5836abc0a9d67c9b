#pragma once

#include <string>

#include "api/http_types.hpp"

namespace nexu::api {

// Appends the wire form of `response` (status line, fields, blank line, body)
// to `out`. One contiguous buffer is written with one call: Beast's own
// serializer walks a chain of buffer views per field and cost about half of
// the per-request CPU in profiles of GET /health.
void serialize_response(const Response& response, std::string& out);

}  // namespace nexu::api
