#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_types.hpp"
#include "domain/error.hpp"

namespace nexu::api {

struct FieldError {
    std::string field;
    std::string message;
};

// An RFC 9457 problem+json response: {"type","title","status","detail"} and
// "errors" for validation failures. `slug` names the type, e.g. "not-found"
// gives "type": "/problems/not-found". `detail` is shown to the client, so
// it must never carry a secret, a path on disk or an internal error text.
Response problem(http::status status,
                 std::string_view slug,
                 std::string_view title,
                 std::string_view detail,
                 const std::vector<FieldError>& errors = {});

// The one 401 answer for a missing, malformed, expired or revoked token, with
// `WWW-Authenticate: Bearer`: identical whatever the reason, so it tells an
// attacker nothing.
Response unauthorized();

// 403: the caller is known but may not do this.
Response forbidden(std::string_view detail = "You do not have permission to do this.");

// Maps a typed error to its problem. Error::context goes to the log, never
// to the client.
Response problem_for(const Error& error, std::string_view request_id);

}  // namespace nexu::api
