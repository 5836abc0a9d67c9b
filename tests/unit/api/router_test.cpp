#include "api/router.hpp"

#include <catch2/catch.hpp>

using namespace nexu::api;
using Kind = RouteMatch::Kind;

namespace {
Response ok(const Request&) {
    return json_response(http::status::ok, "{}");
}

Router sample_router() {
    Router router;
    router.add(http::verb::get, "/health", ok, Dispatch::io_thread);
    router.add(http::verb::get, "/api/v1/collections/{c}/documents/{id}", ok);
    router.add(http::verb::put, "/api/v1/collections/{c}/documents/{id}", ok);
    router.add(http::verb::get, "/api/v1/files/{path...}", ok);
    return router;
}
}  // namespace

TEST_CASE("literal and parameter routes match with decoded parameters", "[api]") {
    const auto router = sample_router();
    auto match = router.match(http::verb::get, "/api/v1/collections/notes/documents/a%20b?x=1");
    REQUIRE(match.kind == Kind::found);
    CHECK(match.route->pattern == "/api/v1/collections/{c}/documents/{id}");
    REQUIRE(match.params.size() == 2);
    CHECK(match.params[0] == std::pair<std::string, std::string>{"c", "notes"});
    CHECK(match.params[1].second == "a b");
    CHECK(router.match(http::verb::get, "/health").kind == Kind::found);
}

TEST_CASE("unknown paths and near misses are not found", "[api]") {
    const auto router = sample_router();
    CHECK(router.match(http::verb::get, "/nope").kind == Kind::not_found);
    CHECK(router.match(http::verb::get, "/health/").kind == Kind::not_found);
    CHECK(router.match(http::verb::get, "/api/v1/collections//documents/x").kind ==
          Kind::not_found);
    CHECK(router.match(http::verb::get, "/api/v1/collections/a/documents").kind == Kind::not_found);
}

TEST_CASE("a known path with another method lists the allowed ones", "[api]") {
    const auto router = sample_router();
    auto match = router.match(http::verb::delete_, "/api/v1/collections/c/documents/1");
    CHECK(match.kind == Kind::method_not_allowed);
    CHECK(match.allow == "GET, HEAD, PUT, OPTIONS");
    CHECK(router.match(http::verb::post, "/health").allow == "GET, HEAD, OPTIONS");
}

TEST_CASE("HEAD uses the GET route", "[api]") {
    const auto router = sample_router();
    auto match = router.match(http::verb::head, "/health");
    REQUIRE(match.kind == Kind::found);
    CHECK(match.route->method == http::verb::get);
}

TEST_CASE("a rest parameter takes the remaining segments and encoded slashes never split",
          "[api]") {
    const auto router = sample_router();
    auto match = router.match(http::verb::get, "/api/v1/files/a/b%2Fc.txt");
    REQUIRE(match.kind == Kind::found);
    CHECK(match.params[0].second == "a/b/c.txt");
    CHECK(router.match(http::verb::get, "/api/v1/files").kind == Kind::not_found);
    CHECK(router.match(http::verb::get, "/api%2Fv1/files/x").kind == Kind::not_found);
}

TEST_CASE("bad percent-encoding and relative targets are bad paths", "[api]") {
    const auto router = sample_router();
    CHECK(router.match(http::verb::get, "/api/v1/files/%zz").kind == Kind::bad_path);
    CHECK(router.match(http::verb::get, "/api/v1/files/%4").kind == Kind::bad_path);
    CHECK(router.match(http::verb::get, "health").kind == Kind::bad_path);
    CHECK(router.match(http::verb::get, "").kind == Kind::bad_path);
}

TEST_CASE("query parameters are found and decoded", "[api]") {
    std::string value;
    CHECK(query_param("/x?limit=5&cursor=a%2Bb+c", "cursor", value));
    CHECK(value == "a+b c");
    CHECK(query_param("/x?limit=5", "limit", value));
    CHECK(value == "5");
    CHECK_FALSE(query_param("/x?limit=5", "cursor", value));
    CHECK_FALSE(query_param("/x", "limit", value));
    CHECK_FALSE(query_param("/x?c=%G1", "c", value));
}
