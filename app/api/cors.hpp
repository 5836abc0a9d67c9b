#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.hpp"

namespace nexu::api {

// The CORS allow-list. No origin is allowed unless configured; an allowed
// origin is echoed back (never "*"), with Vary: Origin so caches keep apart
// the answers for different origins.
class CorsPolicy {
public:
    explicit CorsPolicy(std::vector<std::string> allowed_origins)
        : allowed_origins_(std::move(allowed_origins)) {}

    bool is_allowed(std::string_view origin) const;

    // Adds the CORS headers to an actual (non-preflight) response.
    void decorate(std::string_view origin, Response& response) const;

    // The answer to a preflight (OPTIONS with Origin and
    // Access-Control-Request-Method): 204 with the allow headers for an allowed
    // origin, a 403 problem without any Access-Control-* header otherwise.
    Response preflight(std::string_view origin, std::string_view allow_methods) const;

private:
    std::vector<std::string> allowed_origins_;
};

}  // namespace nexu::api
