#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

// ---- Streamed bodies (file uploads and downloads) ----

// The body of a streamed response, produced piece by piece. next() runs on a
// worker thread (it may read the disk and decrypt); the connection writes one
// piece before asking for the next, so a slow client holds one piece.
class BodySource {
public:
    virtual ~BodySource() = default;
    // The next piece of the body; empty once it is complete. After the header
    // went out an error can only end the connection: the client sees a body
    // shorter than its Content-Length.
    virtual Result<std::string> next() = 0;
};

// A response whose body is streamed: `head` carries the status and fields and
// `content_length` the body's length. With `body` null, `head` is an ordinary
// response (its string body sent as usual: errors, 304, 416).
struct StreamedResponse {
    Response head;
    std::uint64_t content_length = 0;
    std::unique_ptr<BodySource> body = nullptr;
};

// Takes a request body in pieces as it arrives (file uploads). Calls run on
// worker threads, one at a time, in body order. The sink is destroyed on a
// worker thread too; destroyed without finish() having run, the upload was
// abandoned (client gone, timeout, over the limit) and must leave nothing.
class UploadSink {
public:
    virtual ~UploadSink() = default;
    // A piece of the body; a response ends the upload there (e.g. 503 when the
    // disk is full) and the connection closes after sending it.
    virtual std::optional<Response> write(std::string_view piece) = 0;
    // The whole body arrived: the answer to the request.
    virtual Response finish() = 0;
};

// What an upload handler decides from the header block alone: a refusal
// (401/403/400/412..., sent without reading the body), or the sink for it.
// The handler must copy what it needs from the Request: it is gone once the
// body is read.
struct UploadStart {
    std::optional<Response> refusal;
    std::unique_ptr<UploadSink> sink = nullptr;
};

}  // namespace nexu::api
