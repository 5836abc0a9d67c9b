#include "repositories/query_service.hpp"

#include <catch2/catch.hpp>

#include "document_service_fixture.hpp"
#include "domain/jsonpath/query.hpp"
#include "repositories/query_plan.hpp"

using namespace nexu;
using nexu::repositories::CollectionRepository;
using nexu::repositories::plan_query;
using Kind = nexu::repositories::DataFailure::Kind;
using Json = nlohmann::json;

namespace {

// Deterministic documents like the benchmark's: age 0..99, some active.
Json person(int i) {
    return Json{{"name", "p" + std::to_string(i)},
                {"email", "p" + std::to_string(i) + "@example.com"},
                {"age", (i * 37) % 100},
                {"active", i % 9 == 0},
                {"score", (i % 7) + 0.5},
                {"tags", Json::array({"t" + std::to_string(i % 3), "x"})},
                {"address", {{"city", i % 2 == 0 ? "Lima" : "Oslo"}}}};
}

// All pages of a query, concatenated.
Json run_all(testing::DataServices& data,
             const domain::access::Principal& caller,
             const std::string& name,
             const std::string& query,
             std::size_t limit) {
    Json results = Json::array();
    Json paths = Json::array();
    std::string cursor;
    for (int page = 0; page < 10'000; ++page) {
        auto body = data.queries.run(caller, name, query, limit, cursor);
        REQUIRE(body);
        auto parsed = Json::parse(*body);
        REQUIRE(parsed["results"].size() == parsed["paths"].size());
        if (!parsed["next_cursor"].is_null()) CHECK(parsed["results"].size() == limit);
        for (auto& r : parsed["results"]) results.push_back(r);
        for (auto& p : parsed["paths"]) paths.push_back(p);
        if (parsed["next_cursor"].is_null()) break;
        cursor = parsed["next_cursor"].get<std::string>();
    }
    return Json{{"results", results}, {"paths", paths}};
}

// The engine over the collection as one object, as API.md presents it.
Json expected(testing::DataServices& data,
              const domain::access::Principal& caller,
              const std::string& name,
              const std::string& query) {
    auto info = data.collections.find(name).value();
    Json root = Json::object();
    REQUIRE(data.documents.scan(info, {}, [&](const repositories::DocumentView& view) {
        if (caller.is_admin() || view.owner() == caller.user_id) root[view.id] = *view.document;
        return true;
    }));
    auto compiled = domain::jsonpath::Query::compile(query).value();
    Json results = Json::array();
    Json paths = Json::array();
    const auto matches = compiled.select(root).value();
    for (const auto& match : matches) {
        results.push_back(*match.value);
        paths.push_back(match.path);
    }
    return Json{{"results", results}, {"paths", paths}};
}

}  // namespace

TEST_CASE("query results and paths equal the engine's over the whole collection, page by page",
          "[query]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("people", CollectionRepository::default_rules(), {}));
    const auto admin = testing::admin_principal();
    for (int i = 0; i < 60; ++i) REQUIRE(data.documents.create(admin, "people", person(i)));

    for (const std::string query :
         {"$[?@.age > 90 && @.active == true]", "$[?@.age > 50]", "$.*.email", "$[*].tags[*]",
          "$..city", "$[?@.address.city == 'Lima'].name", "$[?search(@.name, '1')]",
          "$[?@.score >= 3.5 || @.age < 10].age", "$[?length(@.tags) == 2 && @.age == 0]"}) {
        INFO(query);
        const auto want = expected(data, admin, "people", query);
        CHECK(run_all(data, admin, "people", query, 1000) == want);
        CHECK(run_all(data, admin, "people", query, 7) == want);
        CHECK(run_all(data, admin, "people", query, 1) == want);
    }
}

TEST_CASE("queries see only the documents the caller may read", "[query]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("notes", CollectionRepository::default_rules(), {"age"}));
    const auto alice = testing::user_principal("alice");
    const auto bob = testing::user_principal("bob");
    for (int i = 0; i < 10; ++i) {
        REQUIRE(data.documents.create(i % 2 == 0 ? alice : bob, "notes", person(i)));
    }
    for (const std::string query : {"$.*", "$[?@.age > 20]", "$..name"}) {
        auto got = run_all(data, alice, "notes", query, 3);
        CHECK(got == expected(data, alice, "notes", query));
        for (const auto& result : got["results"]) {
            if (result.contains("_owner")) CHECK(result["_owner"] == "alice");
        }
    }
    CHECK(Json::parse(data.queries.run(bob, "notes", "$.*._owner", 100, "").value())["results"] ==
          Json::array({"bob", "bob", "bob", "bob", "bob"}));
    const domain::access::Principal anonymous;
    CHECK(data.queries.run(anonymous, "notes", "$.*", 100, "").error().kind == Kind::unauthorized);
    CHECK(data.queries.run(alice, "absent", "$.*", 100, "").error().kind == Kind::not_found);
}

TEST_CASE("invalid queries and cursors are 400s that say where", "[query]") {
    testing::StoreFixture fixture;
    testing::DataServices data{fixture.open_or_throw()};
    REQUIRE(data.collections.save("notes", CollectionRepository::default_rules(), {}));
    const auto admin = testing::admin_principal();
    auto bad = data.queries.run(admin, "notes", "$[?@.a ==]", 10, "");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == Kind::bad_request);
    CHECK_THAT(bad.error().detail, Catch::Contains("at position"));
    CHECK(data.queries.run(admin, "notes", "$.*", 10, "nothex").error().kind == Kind::bad_request);
    CHECK(data.queries.run(admin, "notes", "$.*", 10, "6f3a31").error().kind ==
          Kind::bad_request);  // "o:1" is an offset cursor, not for a member-ordered query
}

TEST_CASE("a query past its time or work budget stops with a clear failure", "[query]") {
    testing::StoreFixture fixture;
    repositories::QuerySettings tight;
    tight.timeout = std::chrono::milliseconds{0};
    testing::DataServices data{fixture.open_or_throw(), tight};
    REQUIRE(data.collections.save("notes", CollectionRepository::default_rules(), {}));
    const auto admin = testing::admin_principal();
    for (int i = 0; i < 130; ++i) REQUIRE(data.documents.create(admin, "notes", person(i)));
    auto slow = data.queries.run(admin, "notes", "$[?@.age > 1000]", 10, "");
    REQUIRE_FALSE(slow);
    CHECK(slow.error().error.code == Errc::unavailable);

    repositories::QuerySettings small;
    small.max_nodes_visited = 50;
    repositories::QueryService limited{*data.store, data.documents, data.parsed, &data.indexes,
                                       small};
    auto expensive = limited.run(admin, "notes", "$..*", 1000, "");
    REQUIRE_FALSE(expensive);
    CHECK(expensive.error().kind == Kind::unprocessable);
}

TEST_CASE("a declared index gives the same results and follows writes from both instances",
          "[query]") {
    testing::StoreFixture fixture;
    testing::DataServices one{fixture.open_or_throw(testing::test_settings(), 0)};
    testing::DataServices two{fixture.open_or_throw(testing::test_settings(), 1)};
    const auto admin = testing::admin_principal();
    REQUIRE(
        one.collections.save("people", CollectionRepository::default_rules(), {"age", "email"}));
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i)
        ids.push_back(one.documents.create(admin, "people", person(i)).value().id);

    const std::vector<std::string> queries = {"$[?@.age > 90 && @.active == true]",
                                              "$[?@.age >= 37]",
                                              "$[?@.age < 5]",
                                              "$[?30 < @.age && @.age <= 40]",
                                              "$[?@.email == 'p3@example.com']",
                                              "$[?@.age == 74.0]",
                                              "$[?@.age > 'x']"};
    const auto check_all = [&](testing::DataServices& data) {
        for (const auto& query : queries) {
            INFO(query);
            CHECK(run_all(data, admin, "people", query, 4) ==
                  expected(data, admin, "people", query));
        }
    };
    check_all(one);
    check_all(two);
    // Writes on one instance, seen by the other's index (and its own at once).
    REQUIRE(
        one.documents.replace(admin, "people", ids[3], Json{{"age", 99}, {"active", true}}, {}));
    REQUIRE(one.documents.remove(admin, "people", ids[5], {}));
    REQUIRE(two.documents.create(admin, "people",
                                 Json{{"age", 95}, {"active", true}, {"email", "new@x"}}));
    REQUIRE(two.documents.patch(admin, "people", ids[7], Json{{"age", 91}, {"active", true}}, {}));
    check_all(one);
    check_all(two);
    CHECK(one.indexes.reindex(one.collections.find("people").value()));
    CHECK(one.indexes.reindex_all(one.collections).value() == 1);
    check_all(one);
}

TEST_CASE("a collection snapshot gives the same results and follows writes from both instances",
          "[query]") {
    testing::StoreFixture fixture;
    testing::DataServices one{fixture.open_or_throw(testing::test_settings(), 0)};
    testing::DataServices two{fixture.open_or_throw(testing::test_settings(), 1)};
    const auto admin = testing::admin_principal();
    REQUIRE(one.collections.save("people", CollectionRepository::default_rules(), {}));
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i)
        ids.push_back(one.documents.create(admin, "people", person(i)).value().id);

    const std::vector<std::string> queries = {"$[?@.age > 90 && @.active == true]",
                                              "$.*.address.city", "$[?@.age < 5].name",
                                              "$..email"};
    const auto check_all = [&](testing::DataServices& data) {
        for (const auto& query : queries) {
            INFO(query);
            CHECK(run_all(data, admin, "people", query, 3) ==
                  expected(data, admin, "people", query));
        }
    };
    check_all(one);
    check_all(two);
    CHECK(one.indexes.snapshot_bytes() > 40 * 100);  // the queries walked snapshots
    CHECK(two.indexes.snapshot_bytes() > 40 * 100);
    // Writes on one instance (applied to its snapshot at once), seen by the
    // other's after it catches up; deletes leave it.
    REQUIRE(
        one.documents.replace(admin, "people", ids[3], Json{{"age", 99}, {"active", true}}, {}));
    REQUIRE(one.documents.remove(admin, "people", ids[5], {}));
    REQUIRE(two.documents.create(admin, "people",
                                 Json{{"age", 95}, {"active", true}, {"email", "new@x"}}));
    REQUIRE(two.documents.patch(admin, "people", ids[7], Json{{"age", 91}, {"active", true}}, {}));
    check_all(one);
    check_all(two);
    // Dropping the collection's structures gives their memory back.
    one.indexes.drop("people");
    CHECK(one.indexes.snapshot_bytes() == 0);
}

TEST_CASE("a collection over the snapshot budget is scanned, with the same results", "[query]") {
    testing::StoreFixture fixture;
    // About a dozen of these documents fit in 16 KiB of estimated parsed size.
    testing::DataServices data{fixture.open_or_throw(testing::test_settings(), 0), {}, 16 * 1024};
    const auto admin = testing::admin_principal();
    REQUIRE(data.collections.save("small", CollectionRepository::default_rules(), {}));
    REQUIRE(data.collections.save("large", CollectionRepository::default_rules(), {}));
    for (int i = 0; i < 5; ++i) REQUIRE(data.documents.create(admin, "small", person(i)));
    for (int i = 0; i < 60; ++i) REQUIRE(data.documents.create(admin, "large", person(i)));
    const std::string query = "$[?@.age > 50]";

    CHECK(run_all(data, admin, "large", query, 7) == expected(data, admin, "large", query));
    CHECK(data.indexes.snapshot_bytes() == 0);  // over budget: nothing kept
    CHECK(run_all(data, admin, "small", query, 2) == expected(data, admin, "small", query));
    const auto small_bytes = data.indexes.snapshot_bytes();
    CHECK(small_bytes > 0);
    // The small one grows past the budget through writes: it is let go.
    for (int i = 0; i < 40; ++i) REQUIRE(data.documents.create(admin, "small", person(i)));
    CHECK(data.indexes.snapshot_bytes() < small_bytes);
    CHECK(run_all(data, admin, "small", query, 9) == expected(data, admin, "small", query));
    CHECK(data.indexes.snapshot_bytes() == 0);
}

TEST_CASE("query plans find member order and indexable conjuncts", "[query]") {
    using domain::jsonpath::CompareOp;
    auto plan = plan_query("$[?@.age > 90 && @.active == true]");
    CHECK(plan.is_member_ordered);
    REQUIRE(plan.comparisons.size() == 2);
    CHECK(plan.comparisons[0].field == "age");
    CHECK(plan.comparisons[0].op == CompareOp::gt);
    CHECK(plan.comparisons[0].literal == 90);
    CHECK(plan.comparisons[1].literal == true);

    plan = plan_query(" $ [? 'x' == @.email ]");
    REQUIRE(plan.comparisons.size() == 1);
    CHECK(plan.comparisons[0].field == "email");
    CHECK(plan_query("$[?30 < @.age]").comparisons.at(0).op == CompareOp::gt);

    CHECK(plan_query("$[?@.a > 1 || @.b == 2]").comparisons.empty());
    CHECK(plan_query("$[?@.a > $.limit]").comparisons.empty());
    CHECK(plan_query("$[?@.a != 1]").comparisons.empty());
    CHECK(plan_query("$[?@.a > 1, ?@.b > 2]").comparisons.empty());
    CHECK_FALSE(plan_query("$[?@.a > 1, ?@.b > 2]").is_member_ordered);
    CHECK(plan_query("$.*.email").is_member_ordered);
    CHECK(plan_query("$[*]").is_member_ordered);
    CHECK_FALSE(plan_query("$..email").is_member_ordered);
    CHECK_FALSE(plan_query("$['a','b']").is_member_ordered);
    CHECK(plan_query("$[?@.name == 'a]b' && @.x == 1]").comparisons.size() == 2);
}
