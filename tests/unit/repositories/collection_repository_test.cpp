#include "repositories/collection_repository.hpp"

#include <catch2/catch.hpp>

#include "document_service_fixture.hpp"

using namespace nexu;
using nexu::repositories::CollectionRepository;
using Json = nlohmann::json;

TEST_CASE("a collection is created once, then changed, keeping its generation", "[collections]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    CollectionRepository collections{*store};

    auto created =
        collections.save("notes", CollectionRepository::default_rules(), {"b", "a", "a"});
    REQUIRE(created);
    CHECK(created->is_created);
    CHECK(created->info.rules.read.to_string() == "owner");
    CHECK(created->info.indexes == std::vector<std::string>{"a", "b"});
    CHECK(created->info.generation.size() == 16);

    auto changed = collections.save("notes", testing::rules("public", "authenticated"), {});
    REQUIRE(changed);
    CHECK_FALSE(changed->is_created);
    CHECK(changed->info.generation == created->info.generation);
    auto found = collections.find("notes").value();
    CHECK(found.rules.read.to_string() == "public");
    CHECK(found.rules.write.to_string() == "authenticated");
    CHECK(found.indexes.empty());
}

TEST_CASE("bad names and index fields are refused, unknown collections are not found",
          "[collections]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    CollectionRepository collections{*store};
    CHECK(collections.save("Bad", CollectionRepository::default_rules(), {}).error().code ==
          Errc::invalid_argument);
    CHECK(collections.save("_users", CollectionRepository::default_rules(), {}).error().code ==
          Errc::invalid_argument);
    CHECK(collections.save("ok", CollectionRepository::default_rules(), {"_id"}).error().code ==
          Errc::invalid_argument);
    CHECK(collections.save("ok", CollectionRepository::default_rules(), {"a.b"}).error().code ==
          Errc::invalid_argument);
    CHECK(collections.find("missing").error().code == Errc::not_found);
    CHECK(collections.find("_users").error().code == Errc::not_found);
    CHECK(collections.remove("missing").error().code == Errc::not_found);
}

TEST_CASE("collections are listed in name order", "[collections]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    CollectionRepository collections{*store};
    for (const auto* name : {"zeta", "alpha", "mid"})
        REQUIRE(collections.save(name, CollectionRepository::default_rules(), {}));
    auto all = collections.list().value();
    REQUIRE(all.size() == 3);
    CHECK(all[0].name == "alpha");
    CHECK(all[2].name == "zeta");
}

TEST_CASE(
    "a deleted collection's documents are gone on every instance and a re-created one "
    "starts empty",
    "[collections]") {
    testing::StoreFixture fixture;
    testing::DataServices one{fixture.open_or_throw(testing::test_settings(), 0)};
    testing::DataServices two{fixture.open_or_throw(testing::test_settings(), 1)};
    const auto admin = testing::admin_principal();
    REQUIRE(one.collections.save("notes", CollectionRepository::default_rules(), {}));
    auto doc = one.documents.create(admin, "notes", Json{{"x", 1}});
    REQUIRE(doc);
    // The other instance sees the collection and the document.
    REQUIRE(two.documents.get(admin, "notes", doc->id));
    const auto old_generation = two.collections.find("notes").value().generation;

    REQUIRE(one.collections.remove("notes"));
    CHECK(two.collections.find("notes").error().code == Errc::not_found);
    CHECK(two.documents.get(admin, "notes", doc->id).error().kind ==
          repositories::DataFailure::Kind::not_found);
    // A stale instance writing into the old incarnation changes nothing for the new one.
    REQUIRE(two.collections.save("notes", CollectionRepository::default_rules(), {}));
    auto recreated = one.collections.find("notes").value();
    CHECK(recreated.generation != old_generation);
    CHECK(one.documents.list(admin, "notes", "", 10).value().items.empty());
    CHECK(one.documents.count_readable(admin, recreated).value() == 0);
}
