#include "api/query_routes.hpp"

#include <catch2/catch.hpp>

#include "document_routes_fixture.hpp"

using namespace nexu;
using api::http::status;
using api::http::verb;
using Json = nlohmann::json;

TEST_CASE("POST /query validates its body and answers results, paths and a cursor", "[api]") {
    testing::DataRoutes routes;
    const auto admin = testing::admin_principal();
    REQUIRE(routes.call(verb::put, "/api/v1/collections/people", admin, R"({"indexes":["age"]})")
                .result() == status::created);
    for (int i = 0; i < 5; ++i) {
        REQUIRE(routes
                    .call(verb::post, "/api/v1/collections/people/documents", admin,
                          Json{{"age", i * 10}}.dump())
                    .result() == status::created);
    }
    const std::string query = "/api/v1/collections/people/query";
    auto page = routes.call(verb::post, query, admin, R"({"jsonpath":"$[?@.age > 15]","limit":2})");
    REQUIRE(page.result() == status::ok);
    auto body = testing::DataRoutes::json_of(page);
    CHECK(body["results"].size() == 2);
    CHECK(body["results"][0]["age"] == 20);
    CHECK(body["paths"][0] == "$['" + body["results"][0]["_id"].get<std::string>() + "']");
    auto rest = testing::DataRoutes::json_of(
        routes.call(verb::post, query, admin,
                    Json{{"jsonpath", "$[?@.age > 15]"}, {"cursor", body["next_cursor"]}}.dump()));
    CHECK(rest["results"].size() == 1);
    CHECK(rest["results"][0]["age"] == 40);
    CHECK(rest["next_cursor"].is_null());

    auto bad = routes.call(verb::post, query, admin, R"({"jsonpath":"$[?"})");
    CHECK(bad.result() == status::bad_request);
    CHECK_THAT(testing::DataRoutes::json_of(bad)["detail"].get<std::string>(),
               Catch::Contains("at position"));
    CHECK(routes.call(verb::post, query, admin, R"({"jsonpath":"$","limit":1001})").result() ==
          status::bad_request);
    CHECK(routes.call(verb::post, query, admin, R"({"jsonpath":"$","limit":0})").result() ==
          status::bad_request);
    CHECK(routes.call(verb::post, query, admin, R"({"jsonpath":"$","cursor":"!"})").result() ==
          status::bad_request);
    CHECK(routes.call(verb::post, query, admin, R"({"limit":3})").result() ==
          status::unprocessable_entity);
    CHECK(routes.call(verb::post, query, admin, "[]").result() == status::unprocessable_entity);
    CHECK(routes.call(verb::post, query, admin, "{}", "text/plain").result() ==
          status::unsupported_media_type);
    CHECK(routes.call(verb::post, "/api/v1/collections/none/query", admin, R"({"jsonpath":"$"})")
              .result() == status::not_found);
    CHECK(routes.call(verb::post, query, {}, R"({"jsonpath":"$"})").result() ==
          status::unauthorized);
}
