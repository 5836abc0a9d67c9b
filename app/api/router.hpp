#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.hpp"

namespace nexu::api {

using Handler = std::function<Response(const Request&)>;

// Delivers a deferred handler's response; callable from any thread, once.
using Respond = std::function<void(Response)>;
// A handler that hands its work to another queue (the password-hashing pool,
// a long scan) and answers later through `respond`. The Request and the
// message it refers to stay valid until then. If `respond` is dropped without
// being called, the client gets a 500 rather than a hung connection.
using DeferredHandler = std::function<void(const Request&, Respond respond)>;

// A handler whose response body is streamed (downloads); runs on a worker.
using StreamHandler = std::function<StreamedResponse(const Request&)>;
// A handler that sees the header block before the body is read and returns a
// sink for the body (uploads); runs on a worker.
using UploadHandler = std::function<UploadStart(const Request&)>;

// Where a handler runs. Handlers that touch the disk, hash passwords, decrypt
// or scan run on a worker pool; only cheap, non-blocking ones on io threads.
// `worker`: GET and HEAD on the read pool, other methods on the write pool
// (api/worker_pools.hpp); `read_worker`: long reads whatever the method (a
// query, which is a POST that changes nothing), on the listener's pool for
// long CPU work, beside streamed transfers.
enum class Dispatch { io_thread, worker, read_worker };

// Whether the pipeline reads the bearer token before the handler runs. The
// login, register and refresh routes ignore it, so a client that sends a stale
// access token with every request can still log in or refresh.
enum class Credentials { checked, ignored };

struct Route {
    http::verb method;
    std::string pattern;  // "/api/v1/collections/{c}/documents/{id}"; "{path...}" takes the rest
    Handler handler;      // either this...
    DeferredHandler deferred_handler;  // ...or this
    Dispatch dispatch = Dispatch::worker;
    std::size_t max_body_bytes = 0;  // 0: the configured JSON body limit
    Credentials credentials = Credentials::checked;

    struct Segment {
        std::string text;  // the literal, or the parameter's name
        bool is_param = false;
        bool takes_rest = false;
    };
    std::vector<Segment> segments;
    StreamHandler stream_handler = {};  // set by add_streamed: the response body is streamed
    UploadHandler upload_handler = {};  // set by add_upload: the request body is streamed
};

struct RouteMatch {
    enum class Kind { found, not_found, method_not_allowed, bad_path } kind = Kind::not_found;
    const Route* route = nullptr;
    PathParams params;
    std::string allow;  // for method_not_allowed: "GET, HEAD, PUT"
};

// Maps method + path to a handler. Built once at start, then read-only, so
// matching needs no lock. HEAD falls back to the GET route.
class Router {
public:
    void add(http::verb method,
             std::string_view pattern,
             Handler handler,
             Dispatch dispatch = Dispatch::worker,
             std::size_t max_body_bytes = 0,
             Credentials credentials = Credentials::checked);
    void add_deferred(http::verb method,
                      std::string_view pattern,
                      DeferredHandler handler,
                      Dispatch dispatch = Dispatch::io_thread,
                      std::size_t max_body_bytes = 0,
                      Credentials credentials = Credentials::checked);

    // A route whose response body is streamed from a BodySource (worker threads).
    void add_streamed(http::verb method,
                      std::string_view pattern,
                      StreamHandler handler,
                      Credentials credentials = Credentials::checked);
    // A route whose request body is streamed into an UploadSink, up to
    // `max_body_bytes` (413 from Content-Length before reading, or as soon as
    // a chunked body passes it). Handlers run on worker threads.
    void add_upload(http::verb method,
                    std::string_view pattern,
                    UploadHandler handler,
                    std::size_t max_body_bytes,
                    Credentials credentials = Credentials::checked);

    // `target` may carry a query string; it is ignored here.
    RouteMatch match(http::verb method, std::string_view target) const;

    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
};

// Decodes %XX escapes; nullopt-like empty result with `ok` false on a bad escape.
bool percent_decode(std::string_view text, std::string& out);

// The value of `name` in the query string of `target`, percent-decoded
// ('+' is a space); false when absent or badly encoded.
bool query_param(std::string_view target, std::string_view name, std::string& out);

}  // namespace nexu::api
