#include "api/document_routes.hpp"

#include <catch2/catch.hpp>

#include "document_routes_fixture.hpp"

using namespace nexu;
using api::http::field;
using api::http::status;
using api::http::verb;
using Json = nlohmann::json;

namespace {

constexpr std::string_view kMergePatch = "application/merge-patch+json";

std::string header(const api::Response& response, field name) {
    const auto found = response.find(name);
    return found == response.end() ? std::string{} : std::string{found->value()};
}

}  // namespace

TEST_CASE("documents: 201 with Location and ETag, 304, 412, 201 on PUT of a new id, 204", "[api]") {
    testing::DataRoutes routes;
    const auto alice = testing::user_principal("alice");
    REQUIRE(routes.call(verb::put, "/api/v1/collections/notes", testing::admin_principal(), "{}")
                .result() == status::created);
    auto created =
        routes.call(verb::post, "/api/v1/collections/notes/documents", alice, R"({"title":"a"})");
    REQUIRE(created.result() == status::created);
    const auto doc = testing::DataRoutes::json_of(created);
    const auto path = "/api/v1/collections/notes/documents/" + doc["_id"].get<std::string>();
    CHECK(header(created, field::location) == path);
    CHECK(header(created, field::etag) == "\"1\"");

    auto got = routes.call(verb::get, path, alice);
    CHECK(got.result() == status::ok);
    CHECK(testing::DataRoutes::json_of(got) == doc);
    auto cached =
        routes.call(verb::get, path, alice, std::nullopt, {}, {{field::if_none_match, "\"1\""}});
    CHECK(cached.result() == status::not_modified);
    CHECK(cached.body().empty());
    CHECK(header(cached, field::etag) == "\"1\"");

    CHECK(
        routes.call(verb::put, path, alice, "{}", "application/json", {{field::if_match, "\"3\""}})
            .result() == status::precondition_failed);
    auto replaced = routes.call(verb::put, path, alice, R"({"t":2})", "application/json",
                                {{field::if_match, "W/\"1\""}});
    CHECK(replaced.result() == status::ok);
    CHECK(header(replaced, field::etag) == "\"2\"");

    auto put_new =
        routes.call(verb::put, "/api/v1/collections/notes/documents/client-id", alice, "{}");
    CHECK(put_new.result() == status::created);
    CHECK(header(put_new, field::location) == "/api/v1/collections/notes/documents/client-id");

    CHECK(routes.call(verb::patch, path, alice, R"({"t":3})").result() ==
          status::unsupported_media_type);
    auto patched =
        routes.call(verb::patch, path, alice, R"({"t":null,"u":1})", std::string{kMergePatch});
    CHECK(patched.result() == status::ok);
    CHECK_FALSE(testing::DataRoutes::json_of(patched).contains("t"));

    CHECK(routes.call(verb::delete_, path, alice, std::nullopt, {}, {{field::if_match, "\"1\""}})
              .result() == status::precondition_failed);
    CHECK(routes.call(verb::delete_, path, alice).result() == status::no_content);
    CHECK(routes.call(verb::get, path, alice).result() == status::not_found);
}

TEST_CASE("document routes refuse bad input with the right status", "[api]") {
    testing::DataRoutes routes;
    const auto alice = testing::user_principal("alice");
    REQUIRE(routes.call(verb::put, "/api/v1/collections/notes", testing::admin_principal(), "{}")
                .result() == status::created);
    const std::string docs = "/api/v1/collections/notes/documents";
    CHECK(routes.call(verb::post, docs, alice, "[1]").result() == status::unprocessable_entity);
    CHECK(routes.call(verb::post, docs, alice, "{").result() == status::bad_request);
    CHECK(routes.call(verb::post, docs, alice, R"({"_id":"x"})").result() == status::bad_request);
    CHECK(routes.call(verb::post, docs, alice, "{}", "text/plain").result() ==
          status::unsupported_media_type);
    std::string deep(70, '[');
    deep += std::string(70, ']');
    CHECK(routes.call(verb::post, docs, alice, deep).result() == status::bad_request);
    CHECK(routes.call(verb::get, docs + "?limit=1001", alice).result() == status::bad_request);
    CHECK(routes.call(verb::get, docs + "?limit=-1", alice).result() == status::bad_request);
    CHECK(routes.call(verb::get, docs + "?cursor=xyz", alice).result() == status::bad_request);
    CHECK(routes.call(verb::get, docs + "/bad%20id", alice).result() == status::bad_request);
    CHECK(routes.call(verb::get, "/api/v1/collections/Nope/documents", alice).result() ==
          status::bad_request);
    CHECK(routes.call(verb::get, "/api/v1/collections/nope/documents", alice).result() ==
          status::not_found);
    auto page = testing::DataRoutes::json_of(routes.call(verb::get, docs, alice));
    CHECK(page == Json{{"items", Json::array()}, {"next_cursor", nullptr}});
}

TEST_CASE("document lists page with opaque cursors", "[api]") {
    testing::DataRoutes routes;
    const auto alice = testing::user_principal("alice");
    REQUIRE(routes.call(verb::put, "/api/v1/collections/notes", testing::admin_principal(), "{}")
                .result() == status::created);
    const std::string docs = "/api/v1/collections/notes/documents";
    for (int i = 0; i < 5; ++i)
        REQUIRE(routes.call(verb::post, docs, alice, "{}").result() == status::created);
    auto first = testing::DataRoutes::json_of(routes.call(verb::get, docs + "?limit=3", alice));
    REQUIRE(first["items"].size() == 3);
    auto second = testing::DataRoutes::json_of(routes.call(
        verb::get, docs + "?limit=3&cursor=" + first["next_cursor"].get<std::string>(), alice));
    CHECK(second["items"].size() == 2);
    CHECK(second["next_cursor"].is_null());
    CHECK(second["items"][0]["_id"] > first["items"][2]["_id"]);
}
