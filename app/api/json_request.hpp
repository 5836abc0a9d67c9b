#pragma once

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "api/http_types.hpp"

namespace nexu::api {

// The one way handlers read a JSON body: checks the Content-Type
// (application/json, or `also_accepted` such as application/merge-patch+json),
// then parses with the depth limit. On failure the error is the problem
// response to send: 415 for another media type, 400 naming the position for
// bad JSON or too deep nesting.
tl::expected<nlohmann::json, Response> read_json_body(const Request& request,
                                                      std::string_view also_accepted = {});

}  // namespace nexu::api
