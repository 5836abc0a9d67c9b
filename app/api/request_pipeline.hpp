#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include <boost/beast/http/fields.hpp>

#include "api/cors.hpp"
#include "api/rate_limits.hpp"
#include "api/http_types.hpp"
#include "api/router.hpp"
#include "config/config.hpp"
#include "domain/access/collection_rules.hpp"
#include "domain/error.hpp"

namespace nexu::api {

// What the pipeline decided once a request's header block arrived, before
// its body is read: the route, the body limit, and an early answer when the
// request cannot go further (404, 405, 413, preflight).
struct PendingRequest {
    std::chrono::steady_clock::time_point started;
    http::verb method = http::verb::unknown;
    std::string method_text;
    std::string request_id;
    std::string client_address;
    std::string origin;
    std::string route_label = "unmatched";
    const Route* route = nullptr;
    PathParams params;
    std::size_t body_limit = 0;
    Dispatch dispatch = Dispatch::io_thread;
    std::optional<RateLimits::Decision> api_rate;  // for the RateLimit-* headers
    std::optional<Response> early_response;
};

// Turns a bearer token into the caller. Any error is answered with the one
// 401 problem (Errc::unavailable with a 503: the check could not be made).
// Runs on the route's dispatch thread, so it may read the store.
using Authenticate =
    std::function<Result<domain::access::Principal>(std::string_view bearer_token)>;

// The socket-free part of HTTP handling: routing, limits, request ids,
// security and CORS headers, the access log line and request metrics.
// Thread-safe after construction (the router is read-only).
class RequestPipeline {
public:
    RequestPipeline(Router router,
                    const config::HttpSettings& settings,
                    Authenticate authenticate = {},
                    RateLimits* rate_limits = nullptr);

    PendingRequest prepare(const http::request_header<>& header,
                           std::string_view peer_address) const;

    // Runs the route's handler. Never throws: a stray exception becomes a
    // logged 500 problem, so nothing escapes into io_context::run().
    Response run(const PendingRequest& pending, const HttpRequest& message) const noexcept;

    // Runs the route's handler, immediate or deferred, and passes its response
    // to `respond` exactly once (a 500 if the handler throws or drops it).
    void run(const PendingRequest& pending,
             const HttpRequest& message,
             Respond respond) const noexcept;

    // Adds the headers every response carries, then logs and counts it.
    void finish(const PendingRequest& pending, Response& response, bool keep_alive) const;

    // ---- streamed bodies (Router::add_streamed / add_upload routes) ----

    // Runs a streamed route's handler (authenticating first). Never throws:
    // a stray exception becomes a 500 problem without a body source.
    StreamedResponse run_streamed(const PendingRequest& pending,
                                  const HttpRequest& message) const noexcept;
    // Runs an upload route's handler on the header block alone (`message` has
    // no body yet). Never throws: a stray exception becomes a 500 refusal.
    UploadStart start_upload(const PendingRequest& pending,
                             const HttpRequest& message) const noexcept;
    // finish() for the head of a streamed response: the same headers, log line
    // and metrics, with `content_length` as the length of the body to come.
    void finish_streamed(const PendingRequest& pending,
                         Response& head,
                         std::uint64_t content_length,
                         bool keep_alive) const;

    const Router& router() const { return router_; }

private:
    // The headers every response carries (request id, security, CORS, keep-alive).
    void decorate(const PendingRequest& pending, Response& response, bool keep_alive) const;
    // The access log line and request metrics.
    void record(const PendingRequest& pending, unsigned status) const;

    // The caller of a request, or the response that refuses it.
    // The one guarded way into a handler: authenticates the caller, builds the
    // Request and returns `invoke(request)`. A refused caller, or an exception
    // (logged, then a 500), is handed to `wrap` as a Response instead.
    template <class Outcome, class Invoke, class Wrap>
    Outcome guarded(const PendingRequest& pending,
                    const HttpRequest& message,
                    Invoke invoke,
                    Wrap wrap) const noexcept;
    std::variant<domain::access::Principal, Response> caller_of(const PendingRequest& pending,
                                                                const HttpRequest& message) const;

    Router router_;
    const config::HttpSettings& settings_;
    CorsPolicy cors_;
    Authenticate authenticate_;
    RateLimits* rate_limits_;
};

}  // namespace nexu::api
