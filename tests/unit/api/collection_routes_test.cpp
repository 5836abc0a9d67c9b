#include "api/collection_routes.hpp"

#include <catch2/catch.hpp>

#include "document_routes_fixture.hpp"

using namespace nexu;
using api::http::status;
using api::http::verb;
using Json = nlohmann::json;

TEST_CASE("PUT /collections creates (201) then changes (200), admins only", "[api]") {
    testing::DataRoutes routes;
    const auto admin = testing::admin_principal();
    auto created = routes.call(verb::put, "/api/v1/collections/notes", admin, "{}");
    CHECK(created.result() == status::created);
    CHECK(testing::DataRoutes::json_of(created) ==
          Json{{"name", "notes"},
               {"rules", {{"read", "owner"}, {"write", "owner"}}},
               {"indexes", Json::array()}});
    auto changed = routes.call(verb::put, "/api/v1/collections/notes", admin,
                               R"({"rules":{"read":"public"},"indexes":["age"]})");
    CHECK(changed.result() == status::ok);
    CHECK(testing::DataRoutes::json_of(changed)["rules"]["read"] == "public");

    CHECK(routes.call(verb::put, "/api/v1/collections/notes", testing::user_principal("u"), "{}")
              .result() == status::forbidden);
    CHECK(routes.call(verb::put, "/api/v1/collections/notes", {}, "{}").result() ==
          status::unauthorized);
    CHECK(routes.call(verb::delete_, "/api/v1/collections/notes", testing::user_principal("u"))
              .result() == status::forbidden);
}

TEST_CASE("collection bodies and names are validated", "[api]") {
    testing::DataRoutes routes;
    const auto admin = testing::admin_principal();
    const auto put = [&](const std::string& name, const std::string& body,
                         const std::string& type = "application/json") {
        return routes.call(verb::put, "/api/v1/collections/" + name, admin, body, type).result();
    };
    CHECK(put("Bad", "{}") == status::bad_request);
    CHECK(put("_users", "{}") == status::bad_request);
    CHECK(put("ok", "[]") == status::unprocessable_entity);
    CHECK(put("ok", R"({"rules":{"read":"anyone"}})") == status::unprocessable_entity);
    CHECK(put("ok", R"({"rules":{"read":1}})") == status::unprocessable_entity);
    CHECK(put("ok", R"({"indexes":["a.b"]})") == status::unprocessable_entity);
    CHECK(put("ok", R"({"other":1})") == status::unprocessable_entity);
    CHECK(put("ok", "{") == status::bad_request);
    CHECK(put("ok", "{}", "text/plain") == status::unsupported_media_type);
    CHECK(routes.data.collections.list().value().empty());
}

TEST_CASE("GET /collections lists what the caller can read or create in, with counts", "[api]") {
    testing::DataRoutes routes;
    const auto admin = testing::admin_principal();
    const auto alice = testing::user_principal("alice");
    REQUIRE(routes.call(verb::put, "/api/v1/collections/mine", admin, "{}").result() ==
            status::created);
    REQUIRE(routes
                .call(verb::put, "/api/v1/collections/staff", admin,
                      R"({"rules":{"read":"role:staff","write":"role:staff"}})")
                .result() == status::created);
    REQUIRE(routes.call(verb::post, "/api/v1/collections/mine/documents", alice, "{}").result() ==
            status::created);
    REQUIRE(routes.call(verb::post, "/api/v1/collections/mine/documents", admin, "{}").result() ==
            status::created);

    auto listed =
        testing::DataRoutes::json_of(routes.call(verb::get, "/api/v1/collections", alice));
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["name"] == "mine");
    CHECK(listed[0]["documents"] == 1);
    auto all = testing::DataRoutes::json_of(routes.call(verb::get, "/api/v1/collections", admin));
    REQUIRE(all.size() == 2);
    CHECK(all[0]["documents"] == 2);
    CHECK(testing::DataRoutes::json_of(routes.call(verb::get, "/api/v1/collections", {})).empty());

    CHECK(routes.call(verb::delete_, "/api/v1/collections/mine", admin).result() ==
          status::no_content);
    CHECK(routes.call(verb::delete_, "/api/v1/collections/mine", admin).result() ==
          status::not_found);
    CHECK(routes.call(verb::get, "/api/v1/collections/mine/documents", admin).result() ==
          status::not_found);
}
