#include "api/cors.hpp"

#include <catch2/catch.hpp>

using namespace nexu::api;

TEST_CASE("an allowed origin is echoed with Vary", "[api]") {
    const CorsPolicy cors{{"https://app.example"}};
    Response response{http::status::ok, 11};
    cors.decorate("https://app.example", response);
    CHECK(response[http::field::access_control_allow_origin] == "https://app.example");
    CHECK(response[http::field::vary] == "Origin");
}

TEST_CASE("other origins get no Access-Control headers", "[api]") {
    const CorsPolicy cors{{"https://app.example"}};
    Response response{http::status::ok, 11};
    cors.decorate("https://evil.example", response);
    CHECK(response.find(http::field::access_control_allow_origin) == response.end());
    auto preflight = cors.preflight("https://evil.example", "GET");
    CHECK(preflight.result() == http::status::forbidden);
    CHECK(preflight.find(http::field::access_control_allow_origin) == preflight.end());
}

TEST_CASE("an allowed preflight names methods and headers", "[api]") {
    const CorsPolicy cors{{"https://app.example"}};
    auto preflight = cors.preflight("https://app.example", "GET, PUT");
    CHECK(preflight.result() == http::status::no_content);
    CHECK(preflight[http::field::access_control_allow_methods] == "GET, PUT");
    const auto headers = preflight[http::field::access_control_allow_headers];
    for (const auto* name :
         {"Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-Id"}) {
        CHECK(headers.find(name) != boost::beast::string_view::npos);
    }
}
