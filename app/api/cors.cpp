#include "api/cors.hpp"

#include <algorithm>

#include "api/problem.hpp"

namespace nexu::api {

namespace {
constexpr const char* kAllowHeaders =
    "Authorization, Content-Type, If-Match, If-None-Match, "
    "X-Request-Id";
constexpr const char* kExposeHeaders =
    "ETag, Location, X-Request-Id, Retry-After, "
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset";
}  // namespace

bool CorsPolicy::is_allowed(std::string_view origin) const {
    return std::find(allowed_origins_.begin(), allowed_origins_.end(), origin) !=
           allowed_origins_.end();
}

void CorsPolicy::decorate(std::string_view origin, Response& response) const {
    if (allowed_origins_.empty()) return;
    response.set(http::field::vary, "Origin");
    if (origin.empty() || !is_allowed(origin)) return;
    response.set(http::field::access_control_allow_origin, origin);
    response.set(http::field::access_control_expose_headers, kExposeHeaders);
}

Response CorsPolicy::preflight(std::string_view origin, std::string_view allow_methods) const {
    if (!is_allowed(origin)) {
        return problem(http::status::forbidden, "origin-not-allowed", "Origin Not Allowed",
                       "This origin is not in the server's CORS allow-list.");
    }
    Response response{http::status::no_content, 11};
    response.set(http::field::access_control_allow_origin, origin);
    response.set(http::field::access_control_allow_methods, allow_methods);
    response.set(http::field::access_control_allow_headers, kAllowHeaders);
    response.set(http::field::access_control_max_age, "600");
    response.set(http::field::vary, "Origin");
    return response;
}

}  // namespace nexu::api
