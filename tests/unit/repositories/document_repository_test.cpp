#include "repositories/document_repository.hpp"

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using nexu::repositories::DocumentRepository;
using Json = nlohmann::json;

TEST_CASE("documents get _id and _rev, and If-Match is honoured", "[documents]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};

    auto created = documents.create("notes", "n1", Json{{"title", "hello"}, {"_rev", 99}});
    REQUIRE(created);
    CHECK((*created)["_id"] == "n1");
    CHECK((*created)["_rev"] == 1);
    CHECK(documents.create("notes", "n1", Json::object()).error().code == Errc::conflict);

    auto found = documents.find("notes", "n1").value();
    CHECK(found == Json{{"title", "hello"}, {"_id", "n1"}, {"_rev", 1}});

    CHECK(
        documents.replace("notes", "n1", Json{{"title", "v2"}}, std::uint64_t{1}).value()["_rev"] ==
        2);
    auto stale = documents.replace("notes", "n1", Json{{"title", "v3"}}, std::uint64_t{1});
    REQUIRE_FALSE(stale);
    CHECK(DocumentRepository::current_revision_of(stale.error()) == 2u);
    CHECK(documents.check_key());
    CHECK(documents.remove("notes", "n1", std::uint64_t{2}).value() == 3);
    CHECK(documents.find("notes", "n1").error().code == Errc::not_found);
}

TEST_CASE("only JSON objects within the depth limit are stored", "[documents]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    CHECK(documents.create("notes", "a", Json::array()).error().code == Errc::invalid_argument);
    CHECK(documents.create("notes", "a", Json("text")).error().code == Errc::invalid_argument);
    Json deep = Json::object();
    for (int i = 0; i < 70; ++i) deep = Json{{"x", deep}};
    CHECK(documents.create("notes", "a", deep).error().code == Errc::invalid_argument);
}

TEST_CASE("list pages in _id order and scan parses one document at a time", "[documents]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    for (int i = 0; i < 7; ++i)
        REQUIRE(documents.create("notes", testing::numbered("d", static_cast<std::uint64_t>(i)),
                                 Json{{"n", i}}));
    auto page = documents.list("notes", "", 5).value();
    REQUIRE(page.items.size() == 5);
    CHECK(page.items[0]["_id"] == "d0");
    auto rest = documents.list("notes", page.next_cursor, 5).value();
    REQUIRE(rest.items.size() == 2);
    CHECK(rest.items[1]["n"] == 6);
    CHECK(rest.next_cursor.empty());

    int sum = 0;
    REQUIRE(documents.scan("notes", "", [&](const std::string&, const Json& doc) {
        sum += doc["n"].get<int>();
        return true;
    }));
    CHECK(sum == 21);
    CHECK(documents.count("notes").value() == 7);
}

TEST_CASE("appended records form a gap-free sequence readable after a seq", "[documents]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository messages{*store};
    for (int i = 1; i <= 4; ++i)
        CHECK(messages.append("_chat-room1", Json{{"text", i}}).value() == std::uint64_t(i));
    auto after = messages.read_after("_chat-room1", 2, 10).value();
    REQUIRE(after.size() == 2);
    CHECK(after[0].seq == 3);
    CHECK(after[0].value["text"] == 3);
    CHECK(messages.sequence("_chat-room1").value() == 4);
}
