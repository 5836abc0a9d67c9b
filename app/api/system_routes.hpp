#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "config/config.hpp"

namespace nexu::api {

// One readiness condition. `run` returns nullopt when it holds, otherwise a
// short reason safe to show to anyone (no paths, no secrets); the details go
// to the log.
struct ReadinessCheck {
    std::string name;
    std::function<std::optional<std::string>()> run;
};

struct SystemInfo {
    std::string version;
    std::string instance_id;
    std::chrono::steady_clock::time_point started;
    // GET /metrics: public, admin token only, or 404 (NEXU_METRICS).
    config::MetricsAccess metrics_access = config::MetricsAccess::open;
};

// GET /health, /ready, /metrics and /api/openapi.json.
void add_system_routes(Router& router, SystemInfo info, std::vector<ReadinessCheck> checks);

// The OpenAPI 3.1 document, embedded at build time from app/api/openapi.json.
const std::string& openapi_document();

}  // namespace nexu::api
