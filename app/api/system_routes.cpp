#include "api/system_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/problem.hpp"
#include "config/metrics.hpp"

namespace nexu::api {

namespace {

std::string health_prefix(const SystemInfo& info) {
    const nlohmann::json fixed{
        {"status", "ok"}, {"version", info.version}, {"instance", info.instance_id}};
    auto text = fixed.dump();
    text.back() = ',';
    return text + "\"uptime_s\":";
}

}  // namespace

void add_system_routes(Router& router, SystemInfo info, std::vector<ReadinessCheck> checks) {
    router.add(
        http::verb::get, "/health",
        [info, prefix = health_prefix(info)](const Request&) {
            // The only per-request work is the uptime: the rest was serialised at start.
            const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::steady_clock::now() - info.started);
            return json_response(http::status::ok, prefix + std::to_string(uptime.count()) + "}");
        },
        Dispatch::io_thread);

    // The probes touch the disk, so /ready runs on a worker.
    router.add(http::verb::get, "/ready", [checks = std::move(checks)](const Request&) {
        nlohmann::json results = nlohmann::json::object();
        std::string failed;
        for (const auto& check : checks) {
            const auto failure = check.run();
            results[check.name] = failure ? *failure : "ok";
            if (failure && failed.empty()) failed = check.name + ": " + *failure;
        }
        if (failed.empty()) {
            return json_response(http::status::ok,
                                 nlohmann::json{{"status", "ready"}, {"checks", results}}.dump());
        }
        auto response =
            problem(http::status::service_unavailable, "not-ready", "Not Ready", failed);
        auto body = nlohmann::json::parse(response.body());
        body["checks"] = std::move(results);
        response.body() = body.dump();
        response.set(http::field::retry_after, "5");
        return response;
    });

    router.add(
        http::verb::get, "/metrics",
        [access = info.metrics_access](const Request& request) {
            if (access == config::MetricsAccess::off) {
                return problem(http::status::not_found, "not-found", "Not Found",
                               "No route matches this path.");
            }
            if (access == config::MetricsAccess::admin) {
                if (!request.principal.is_authenticated()) return unauthorized();
                if (!request.principal.is_admin()) return forbidden();
            }
            Response response{http::status::ok, 11};
            response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            response.body() = metrics::registry().render();
            return response;
        },
        Dispatch::worker);

    router.add(
        http::verb::get, "/api/openapi.json",
        [](const Request&) {
            Response response{http::status::ok, 11};
            response.set(http::field::content_type, "application/json");
            response.set(http::field::cache_control, "public, max-age=300");
            response.body() = openapi_document();
            return response;
        },
        Dispatch::io_thread);
}

}  // namespace nexu::api
