#include "api/request_pipeline.hpp"

#include <cctype>
#include <charconv>
#include <mutex>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "api/client_address.hpp"
#include "api/problem.hpp"
#include "api/request_id.hpp"
#include "config/metrics.hpp"

namespace nexu::api {

namespace {

template <class Key>
std::string_view header_value(const http::request_header<>& header, Key key) {
    const auto it = header.find(key);
    if (it == header.end()) return {};
    return {it->value().data(), it->value().size()};
}

// An announced Content-Length, or nullopt for chunked / no body.
std::optional<std::uint64_t> content_length(const http::request_header<>& header) {
    const auto text = header_value(header, http::field::content_length);
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

struct RequestSeries {
    metrics::Counter* requests;
    metrics::Histogram* duration;
};

// The registry takes a lock and builds label vectors; a per-thread cache of
// the series for each (method, route, status) keeps that off the hot path.
void count_request(const PendingRequest& pending,
                   unsigned status,
                   std::chrono::nanoseconds elapsed) {
    thread_local std::unordered_map<std::string, RequestSeries> cache;
    thread_local std::string key;
    key.assign(pending.method_text);
    key += ' ';
    key += pending.route_label;
    key += ' ';
    key += std::to_string(status);
    auto it = cache.find(key);
    if (it == cache.end()) {
        auto& registry = metrics::registry();
        RequestSeries series{
            &registry.counter("nexu_http_requests_total", {{"method", pending.method_text},
                                                           {"route", pending.route_label},
                                                           {"status", std::to_string(status)}}),
            &registry.histogram("nexu_http_request_duration_seconds",
                                {{"method", pending.method_text}, {"route", pending.route_label}})};
        it = cache.emplace(key, series).first;
    }
    it->second.requests->add();
    it->second.duration->observe(elapsed);
}

}  // namespace

RequestPipeline::RequestPipeline(Router router,
                                 const config::HttpSettings& settings,
                                 Authenticate authenticate,
                                 RateLimits* rate_limits)
    : router_(std::move(router)),
      settings_(settings),
      cors_(settings.cors_origins),
      authenticate_(std::move(authenticate)),
      rate_limits_(rate_limits) {
    metrics::registry().describe("nexu_http_requests_total", "HTTP requests answered.");
    metrics::registry().describe("nexu_http_request_duration_seconds",
                                 "Time from the end of the header block to the response.");
}

PendingRequest RequestPipeline::prepare(const http::request_header<>& header,
                                        std::string_view peer_address) const {
    PendingRequest pending;
    pending.started = std::chrono::steady_clock::now();
    pending.method = header.method();
    // Unknown methods share one label, so clients cannot grow the metric families.
    const auto method_text = header.method() == http::verb::unknown
                                 ? boost::beast::string_view{"OTHER"}
                                 : http::to_string(header.method());
    pending.method_text.assign(method_text.data(), method_text.size());
    pending.request_id = request_id_for(header_value(header, "X-Request-Id"));
    pending.client_address = client_address(peer_address, header_value(header, "X-Forwarded-For"),
                                            settings_.trusted_proxies);
    pending.origin = std::string{header_value(header, http::field::origin)};
    pending.body_limit = settings_.max_body_bytes;

    const auto target = header.target();
    const std::string_view target_view{target.data(), target.size()};
    auto matched = router_.match(header.method(), target_view);

    if (header.method() == http::verb::options && matched.kind != RouteMatch::Kind::bad_path) {
        // OPTIONS is answered here for every route: a CORS preflight, or the Allow list.
        auto probe = router_.match(http::verb::get, target_view);
        std::string allow = matched.allow;
        if (matched.kind == RouteMatch::Kind::found) allow.clear();
        if (allow.empty() && probe.kind != RouteMatch::Kind::not_found) allow = probe.allow;
        if (allow.empty() && probe.kind == RouteMatch::Kind::found) allow = "GET, HEAD, OPTIONS";
        if (allow.empty()) {
            pending.early_response = problem(http::status::not_found, "not-found", "Not Found",
                                             "No route matches this path.");
            return pending;
        }
        pending.route_label = "OPTIONS";
        const bool is_preflight =
            !pending.origin.empty() &&
            !header_value(header, http::field::access_control_request_method).empty();
        if (is_preflight) {
            pending.early_response = cors_.preflight(pending.origin, allow);
        } else {
            Response response{http::status::no_content, 11};
            response.set(http::field::allow, allow);
            pending.early_response = std::move(response);
        }
        return pending;
    }

    // Refused from the announced length alone, before routing answers and
    // without reading the body.
    if (matched.kind == RouteMatch::Kind::found && matched.route->max_body_bytes != 0) {
        pending.body_limit = matched.route->max_body_bytes;
    }
    if (const auto length = content_length(header); length && *length > pending.body_limit) {
        pending.early_response =
            problem(http::status::payload_too_large, "payload-too-large", "Payload Too Large",
                    "The request body is larger than the limit of " +
                        std::to_string(pending.body_limit) + " bytes.");
        return pending;
    }

    switch (matched.kind) {
        case RouteMatch::Kind::bad_path:
            pending.early_response = problem(http::status::bad_request, "bad-path", "Bad Path",
                                             "The request path is not valid.");
            return pending;
        case RouteMatch::Kind::not_found:
            pending.early_response = problem(http::status::not_found, "not-found", "Not Found",
                                             "No route matches this path.");
            return pending;
        case RouteMatch::Kind::method_not_allowed: {
            auto response = problem(http::status::method_not_allowed, "method-not-allowed",
                                    "Method Not Allowed",
                                    "This path does not support the " + pending.method_text +
                                        " method; see the Allow header.");
            response.set(http::field::allow, matched.allow);
            pending.early_response = std::move(response);
            return pending;
        }
        case RouteMatch::Kind::found:
            break;
    }

    pending.route = matched.route;
    pending.route_label = matched.route->pattern;
    pending.params = std::move(matched.params);
    pending.dispatch = matched.route->dispatch;

    if (rate_limits_ != nullptr && pending.route_label.starts_with("/api/v1/")) {
        const auto decision = rate_limits_->take_api(pending.client_address);
        if (!decision.allowed) {
            pending.early_response = too_many_requests(rate_limits_->api_limit(), decision);
            return pending;
        }
        pending.api_rate = decision;
    }

    return pending;
}

namespace {

Response internal_error() noexcept {
    try {
        return problem(http::status::internal_server_error, "internal", "Internal Server Error",
                       "The server failed to complete the request.");
    } catch (...) {
        return Response{http::status::internal_server_error, 11};
    }
}

// Hands a deferred handler's response on once; answers 500 if the handler
// lets the last copy go without answering.
class OnceResponder {
public:
    OnceResponder(Respond respond, std::string request_id)
        : respond_(std::move(respond)), request_id_(std::move(request_id)) {}
    OnceResponder(const OnceResponder&) = delete;
    OnceResponder& operator=(const OnceResponder&) = delete;
    ~OnceResponder() {
        if (!respond_) return;
        spdlog::error("deferred handler dropped its response request_id={}", request_id_);
        respond_(internal_error());
    }
    void answer(Response response) {
        std::lock_guard lock{mutex_};
        if (!respond_) return;
        auto respond = std::move(respond_);
        respond_ = nullptr;
        respond(std::move(response));
    }

private:
    std::mutex mutex_;
    Respond respond_;
    std::string request_id_;
};

// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
std::optional<std::string_view> bearer_token(std::string_view header) {
    constexpr std::string_view kScheme = "bearer ";
    if (header.size() <= kScheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        const auto c = static_cast<unsigned char>(header[i]);
        if (std::tolower(c) != kScheme[i]) return std::nullopt;
    }
    auto token = header.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return std::nullopt;
    return token;
}

}  // namespace

std::variant<domain::access::Principal, Response> RequestPipeline::caller_of(
    const PendingRequest& pending, const HttpRequest& message) const {
    if (pending.route->credentials == Credentials::ignored) return domain::access::Principal{};
    const auto header = message.find(http::field::authorization);
    if (header == message.end()) return domain::access::Principal{};
    const auto token = bearer_token({header->value().data(), header->value().size()});
    if (!token || !authenticate_) return unauthorized();
    auto principal = authenticate_(*token);
    if (principal) return std::move(*principal);
    if (principal.error().code == Errc::unavailable) {
        return problem_for(principal.error(), pending.request_id);
    }
    spdlog::info("token refused route={} request_id={}: {}", pending.route_label,
                 pending.request_id, principal.error().context);
    return unauthorized();
}

template <class Outcome, class Invoke, class Wrap>
Outcome RequestPipeline::guarded(const PendingRequest& pending,
                                 const HttpRequest& message,
                                 Invoke invoke,
                                 Wrap wrap) const noexcept {
    try {
        auto caller = caller_of(pending, message);
        if (auto* refused = std::get_if<Response>(&caller)) return wrap(std::move(*refused));
        const Request request{message,
                              pending.params,
                              pending.route_label,
                              pending.request_id,
                              pending.client_address,
                              std::get<domain::access::Principal>(caller)};
        return invoke(request);
    } catch (const std::exception& e) {
        spdlog::error("handler failed route={} request_id={}: {}", pending.route_label,
                      pending.request_id, e.what());
    } catch (...) {
        spdlog::error("handler failed route={} request_id={}: unknown exception",
                      pending.route_label, pending.request_id);
    }
    return wrap(internal_error());
}

void RequestPipeline::run(const PendingRequest& pending,
                          const HttpRequest& message,
                          Respond respond) const noexcept {
    if (!pending.route->deferred_handler) return respond(run(pending, message));
    auto responder = std::make_shared<OnceResponder>(std::move(respond), pending.request_id);
    auto answer = [responder](Response response) { responder->answer(std::move(response)); };
    guarded<void>(
        pending, message,
        [&pending, &answer](const Request& request) {
            pending.route->deferred_handler(request, answer);
        },
        answer);
}

Response RequestPipeline::run(const PendingRequest& pending,
                              const HttpRequest& message) const noexcept {
    return guarded<Response>(
        pending, message,
        [&pending](const Request& request) { return pending.route->handler(request); },
        [](Response response) { return response; });
}

void RequestPipeline::decorate(const PendingRequest& pending,
                               Response& response,
                               bool keep_alive) const {
    response.set("X-Request-Id", pending.request_id);
    response.set("X-Content-Type-Options", "nosniff");
    response.set("X-Frame-Options", "DENY");
    response.set("Referrer-Policy", "no-referrer");
    response.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if (response.find(http::field::cache_control) == response.end()) {
        response.set(http::field::cache_control, "no-store");
    }
    if (!pending.origin.empty() && pending.method != http::verb::options) {
        cors_.decorate(pending.origin, response);
    }
    // A route with a tighter limit of its own (login, register, refresh) has set them already.
    if (pending.api_rate && response.find("RateLimit-Limit") == response.end()) {
        set_rate_limit_headers(response, rate_limits_->api_limit(), *pending.api_rate);
    }
    response.keep_alive(keep_alive);
}

void RequestPipeline::record(const PendingRequest& pending, unsigned status) const {
    const auto elapsed = std::chrono::steady_clock::now() - pending.started;
    count_request(pending, status, elapsed);
    spdlog::info("{} {} in {:.3f}s route={} request_id={} client={}", pending.method_text, status,
                 std::chrono::duration<double>(elapsed).count(), pending.route_label,
                 pending.request_id, pending.client_address);
}

void RequestPipeline::finish(const PendingRequest& pending,
                             Response& response,
                             bool keep_alive) const {
    decorate(pending, response, keep_alive);
    response.prepare_payload();
    if (pending.method == http::verb::head) {
        // HEAD keeps the GET answer's Content-Length but sends no body.
        const auto length = response.body().size();
        response.body().clear();
        response.content_length(length);
    }
    record(pending, response.result_int());
}

void RequestPipeline::finish_streamed(const PendingRequest& pending,
                                      Response& head,
                                      std::uint64_t content_length,
                                      bool keep_alive) const {
    decorate(pending, head, keep_alive);
    head.body().clear();
    head.content_length(content_length);
    record(pending, head.result_int());
}

StreamedResponse RequestPipeline::run_streamed(const PendingRequest& pending,
                                               const HttpRequest& message) const noexcept {
    return guarded<StreamedResponse>(
        pending, message,
        [&pending](const Request& request) { return pending.route->stream_handler(request); },
        [](Response response) { return StreamedResponse{std::move(response), 0, nullptr}; });
}

UploadStart RequestPipeline::start_upload(const PendingRequest& pending,
                                          const HttpRequest& message) const noexcept {
    return guarded<UploadStart>(
        pending, message,
        [&pending](const Request& request) {
            auto start = pending.route->upload_handler(request);
            if (!start.refusal && !start.sink) start.refusal = internal_error();
            return start;
        },
        [](Response response) { return UploadStart{std::move(response), nullptr}; });
}

}  // namespace nexu::api
