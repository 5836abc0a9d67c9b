#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "domain/access/collection_rules.hpp"

namespace nexu::api {

namespace http = boost::beast::http;

using HttpRequest = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Path parameters by name, percent-decoded, in pattern order.
using PathParams = std::vector<std::pair<std::string, std::string>>;

// What a handler sees of a request: the message and what the pipeline
// learned about it before the handler runs.
struct Request {
    const HttpRequest& message;
    const PathParams& params;
    std::string_view route;  // the matched pattern, e.g. /api/v1/collections/{c}
    std::string_view request_id;
    std::string_view client_address;
    // The caller: anonymous unless a valid bearer token came with the request
    // (an invalid one is answered 401 before the handler runs).
    const domain::access::Principal& principal;

    std::string_view param(std::string_view name) const;
};

// A JSON response with the given status; the body is already serialised.
Response json_response(http::status status, std::string body);

}  // namespace nexu::api
