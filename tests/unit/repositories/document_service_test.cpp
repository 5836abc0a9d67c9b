#include "repositories/document_service.hpp"

#include <set>

#include <catch2/catch.hpp>

#include "document_service_fixture.hpp"

using namespace nexu;
using nexu::repositories::CollectionRepository;
using nexu::repositories::DocumentService;
using nexu::repositories::WritePreconditions;
using Kind = nexu::repositories::DataFailure::Kind;
using Json = nlohmann::json;

namespace {

WritePreconditions if_match(std::uint64_t rev) {
    WritePreconditions conditions;
    conditions.has_if_match = true;
    conditions.if_match_revs = {rev};
    return conditions;
}

WritePreconditions if_none_match_any() {
    WritePreconditions conditions;
    conditions.if_none_match_any = true;
    return conditions;
}

bool is_rfc3339_ms_utc(const std::string& text) {
    // 2026-11-23T15:04:05.123Z
    if (text.size() != 24 || text[10] != 'T' || text[19] != '.' || text.back() != 'Z') return false;
    return text[4] == '-' && text[7] == '-' && text[13] == ':' && text[16] == ':';
}

}  // namespace

TEST_CASE("created documents carry the server fields and clients cannot set them", "[documents]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("notes", CollectionRepository::default_rules(), {}));
    const auto alice = testing::user_principal("alice");

    auto created = data.documents.create(alice, "notes", Json{{"title", "hi"}});
    REQUIRE(created);
    const auto& doc = *created->document;
    CHECK(infrastructure::is_uuid_v7(doc["_id"].get<std::string>()));
    CHECK(doc["_rev"] == 1);
    CHECK(doc["_owner"] == "alice");
    CHECK(is_rfc3339_ms_utc(doc["_created_at"]));
    CHECK(doc["_created_at"] == doc["_updated_at"]);
    CHECK(Json::parse(created->to_json()) == doc);

    CHECK(data.documents.create(alice, "notes", Json{{"_owner", "bob"}}).error().kind ==
          Kind::bad_request);
    CHECK(data.documents.create(alice, "notes", Json::array({1})).error().kind ==
          Kind::unprocessable);
    CHECK(data.documents.create(alice, "missing", Json::object()).error().kind == Kind::not_found);
    CHECK(data.documents.get(alice, "notes", "bad/id").error().kind == Kind::bad_request);
    CHECK(data.documents.get(alice, "notes", "no-such-doc").error().kind == Kind::not_found);
}

TEST_CASE("the owner rule hides other users' documents and admins see all", "[documents]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("notes", CollectionRepository::default_rules(), {}));
    const auto alice = testing::user_principal("alice");
    const auto bob = testing::user_principal("bob");
    const domain::access::Principal anonymous;
    auto doc = data.documents.create(alice, "notes", Json{{"n", 1}}).value();
    REQUIRE(data.documents.create(bob, "notes", Json{{"n", 2}}));

    CHECK(data.documents.get(alice, "notes", doc.id));
    CHECK(data.documents.get(bob, "notes", doc.id).error().kind == Kind::not_found);
    CHECK(data.documents.get(testing::admin_principal(), "notes", doc.id));
    CHECK(data.documents.get(anonymous, "notes", doc.id).error().kind == Kind::unauthorized);
    CHECK(data.documents.replace(bob, "notes", doc.id, Json::object(), {}).error().kind ==
          Kind::not_found);
    CHECK(data.documents.patch(bob, "notes", doc.id, Json::object(), {}).error().kind ==
          Kind::not_found);
    CHECK(data.documents.remove(bob, "notes", doc.id, {}).error().kind == Kind::not_found);
    CHECK(data.documents.list(bob, "notes", "", 50).value().items.size() == 1);
    CHECK(data.documents.list(testing::admin_principal(), "notes", "", 50).value().items.size() ==
          2);
    auto info = data.collections.find("notes").value();
    CHECK(data.documents.count_readable(alice, info).value() == 1);
    CHECK(data.documents.count_readable(testing::admin_principal(), info).value() == 2);

    // A permission covers every document.
    auto reader = testing::user_principal("carol");
    reader.permissions = domain::access::PermissionSet{{"collections:notes:read"}};
    CHECK(data.documents.get(reader, "notes", doc.id));
    CHECK(data.documents.remove(reader, "notes", doc.id, {}).error().kind == Kind::forbidden);
}

TEST_CASE("readable but not writable is forbidden", "[documents]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("wiki", testing::rules("public", "role:editor"), {}));
    const auto editor = testing::user_principal("ed", {"user", "editor"});
    const auto reader = testing::user_principal("rita");
    const domain::access::Principal anonymous;
    auto doc = data.documents.create(editor, "wiki", Json{{"text", "a"}}).value();
    CHECK(data.documents.get(anonymous, "wiki", doc.id));
    CHECK(data.documents.get(reader, "wiki", doc.id));
    CHECK(data.documents.replace(reader, "wiki", doc.id, Json::object(), {}).error().kind ==
          Kind::forbidden);
    CHECK(data.documents.create(reader, "wiki", Json::object()).error().kind == Kind::forbidden);
    CHECK(data.documents.create(anonymous, "wiki", Json::object()).error().kind ==
          Kind::unauthorized);
}

TEST_CASE("replace honours If-Match and If-None-Match and keeps owner and creation time",
          "[documents]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("notes", testing::rules("authenticated", "authenticated"), {}));
    const auto alice = testing::user_principal("alice");
    const auto bob = testing::user_principal("bob");

    auto put = data.documents.replace(alice, "notes", "my-id", Json{{"v", 1}}, {});
    REQUIRE(put);
    CHECK(put->is_created);
    CHECK(put->view.rev == 1);
    CHECK(data.documents.replace(alice, "notes", "my-id", Json{{"v", 9}}, if_none_match_any())
              .error()
              .kind == Kind::precondition_failed);
    CHECK(
        data.documents.replace(alice, "notes", "my-id", Json{{"v", 9}}, if_match(7)).error().kind ==
        Kind::precondition_failed);
    CHECK(data.documents.replace(alice, "absent", "x", Json::object(), if_match(1)).error().kind ==
          Kind::not_found);
    CHECK(data.documents.replace(alice, "notes", "new-one", Json::object(), if_match(1))
              .error()
              .kind == Kind::precondition_failed);

    auto replaced = data.documents.replace(bob, "notes", "my-id", Json{{"v", 2}}, if_match(1));
    REQUIRE(replaced);
    CHECK_FALSE(replaced->is_created);
    const auto& doc = *replaced->view.document;
    CHECK(doc["_rev"] == 2);
    CHECK(doc["v"] == 2);
    CHECK(doc["_owner"] == "alice");
    CHECK(doc["_created_at"] == (*put->view.document)["_created_at"]);
    CHECK(data.documents.replace(alice, "notes", "bad id", Json::object(), {}).error().kind ==
          Kind::bad_request);
    CHECK(data.documents.remove(alice, "notes", "my-id", if_match(1)).error().kind ==
          Kind::precondition_failed);
    REQUIRE(data.documents.remove(alice, "notes", "my-id", if_match(2)));
    CHECK(data.documents.get(alice, "notes", "my-id").error().kind == Kind::not_found);
    CHECK(data.documents.remove(alice, "notes", "my-id", {}).error().kind == Kind::not_found);
}

TEST_CASE("merge patch follows RFC 7396 and keeps the server fields", "[documents]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("notes", CollectionRepository::default_rules(), {}));
    const auto alice = testing::user_principal("alice");
    auto doc =
        data.documents.create(alice, "notes", Json{{"a", "b"}, {"c", {{"d", "e"}, {"f", "g"}}}})
            .value();
    auto patched =
        data.documents.patch(alice, "notes", doc.id, Json{{"a", "z"}, {"c", {{"f", nullptr}}}}, {});
    REQUIRE(patched);
    const auto& out = *patched->document;
    CHECK(out["a"] == "z");
    CHECK(out["c"] == Json{{"d", "e"}});
    CHECK(out["_owner"] == "alice");
    CHECK(out["_rev"] == 2);
    CHECK(data.documents.patch(alice, "notes", doc.id, Json{{"_rev", 5}}, {}).error().kind ==
          Kind::bad_request);
    CHECK(data.documents.patch(alice, "notes", doc.id, Json::array(), {}).error().kind ==
          Kind::unprocessable);
    CHECK(data.documents.patch(alice, "notes", doc.id, Json{{"a", 1}}, if_match(1)).error().kind ==
          Kind::precondition_failed);
    CHECK(data.documents.patch(alice, "notes", "nope", Json::object(), {}).error().kind ==
          Kind::not_found);
}

TEST_CASE("pages cover every document once in _id order and bad cursors are refused",
          "[documents]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("notes", CollectionRepository::default_rules(), {}));
    const auto alice = testing::user_principal("alice");
    std::vector<std::string> ids;
    for (int i = 0; i < 23; ++i)
        ids.push_back(data.documents.create(alice, "notes", Json{{"i", i}}).value().id);
    std::vector<std::string> seen;
    std::string cursor;
    for (int pages = 0; pages < 10; ++pages) {
        auto page = data.documents.list(alice, "notes", cursor, 5).value();
        if (!page.next_cursor.empty()) CHECK(page.items.size() == 5);
        for (const auto& item : page.items) seen.push_back(item.id);
        // Documents added while paging come after every existing id.
        if (pages == 1) data.documents.create(alice, "notes", Json{{"late", true}}).value();
        if (page.next_cursor.empty()) break;
        cursor = page.next_cursor;
    }
    CHECK(seen.size() == 24);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == seen.size());
    CHECK(data.documents.list(alice, "notes", "zz", 5).error().kind == Kind::bad_request);
    CHECK(data.documents.list(alice, "notes", "abc", 5).error().kind == Kind::bad_request);
}

TEST_CASE("cursor encoding round-trips only valid ids", "[documents]") {
    CHECK(DocumentService::decode_cursor(DocumentService::encode_cursor("abc-1.x")) == "abc-1.x");
    CHECK_FALSE(DocumentService::decode_cursor("2f2f"));  // "//"
    CHECK_FALSE(DocumentService::decode_cursor(""));
    CHECK(DocumentService::is_valid_id("A1_b.c-d"));
    CHECK_FALSE(DocumentService::is_valid_id("-a"));
    CHECK_FALSE(DocumentService::is_valid_id(std::string(129, 'a')));
}

TEST_CASE("If-Match holds across two instances sharing the data directory", "[documents]") {
    testing::StoreFixture fixture;
    testing::DataServices one{fixture.open_or_throw(testing::test_settings(), 0)};
    testing::DataServices two{fixture.open_or_throw(testing::test_settings(), 1)};
    REQUIRE(one.collections.save("notes", testing::rules("authenticated", "authenticated"), {}));
    const auto alice = testing::user_principal("alice");
    auto doc = one.documents.create(alice, "notes", Json{{"v", 0}}).value();
    REQUIRE(one.documents.replace(alice, "notes", doc.id, Json{{"v", 1}}, if_match(1)));
    CHECK(two.documents.replace(alice, "notes", doc.id, Json{{"v", 2}}, if_match(1)).error().kind ==
          Kind::precondition_failed);
    CHECK(two.documents.get(alice, "notes", doc.id).value().rev == 2);
}
