#include "repositories/user_repository.hpp"

#include <catch2/catch.hpp>

#include "infrastructure/uuid_v7.hpp"
#include "support/store_fixture.hpp"

using namespace nexu;
using repositories::DocumentRepository;
using repositories::UserRepository;

namespace {

domain::User make_user(infrastructure::UuidV7Generator& ids, std::string username, std::string email = {}) {
    domain::User user;
    user.id = ids.next();
    user.username = std::move(username);
    user.email = std::move(email);
    user.roles = {"user"};
    user.password_hash = "$argon2id$test";
    return user;
}

}  // namespace

TEST_CASE("usernames and e-mail addresses (ignoring case) are unique", "[users]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    UserRepository users{documents, *fixture.crypto};
    infrastructure::UuidV7Generator ids;

    const auto ann = users.create(make_user(ids, "ann", "Ann@Example.com")).value();
    CHECK(users.create(make_user(ids, "ann")).error().context == "username");
    CHECK(users.create(make_user(ids, "ann2", "ann@example.COM")).error().context == "email");
    CHECK(users.find_by_username("ann").value().id == ann.id);
    CHECK(users.find_by_email("ANN@example.com").value().id == ann.id);
    CHECK(users.find_by_username("nobody").error().code == Errc::not_found);
    // The loser of a taken name left no user behind.
    CHECK(documents.count("_users").value() == 1u);
    // Claim names do not reveal the names.
    documents.scan("_usernames", "", [](const std::string& id, const nlohmann::json&) {
        CHECK(id.find("ann") == std::string::npos);
        return true;
    });
}

TEST_CASE("deleting a user frees its names; a stale claim is taken over", "[users]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    UserRepository users{documents, *fixture.crypto};
    infrastructure::UuidV7Generator ids;

    const auto bob = users.create(make_user(ids, "bob", "bob@x.io")).value();
    REQUIRE(users.remove(bob.id));
    CHECK(users.find_by_username("bob").error().code == Errc::not_found);
    CHECK(users.create(make_user(ids, "bob", "bob@x.io")));

    // A crash after the user document went but before its claims did.
    const auto carl = users.create(make_user(ids, "carl")).value();
    REQUIRE(documents.remove("_users", carl.id));
    const auto again = users.create(make_user(ids, "carl")).value();
    CHECK(users.find_by_username("carl").value().id == again.id);
}

TEST_CASE("an e-mail change moves the claim; a stale revision conflicts", "[users]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    UserRepository users{documents, *fixture.crypto};
    infrastructure::UuidV7Generator ids;

    auto dee = users.create(make_user(ids, "dee", "dee@old.io")).value();
    auto changed = dee;
    changed.email = "dee@new.io";
    const auto updated = users.update(changed).value();
    CHECK(users.find_by_email("dee@new.io").value().id == dee.id);
    CHECK(users.find_by_email("dee@old.io").error().code == Errc::not_found);
    CHECK(users.create(make_user(ids, "eve", "dee@old.io")));
    CHECK(users.update(dee).error().code == Errc::conflict);  // dee.rev is stale
    CHECK(updated.rev == dee.rev + 1);
    CHECK(users.any_holds_role("user").value());
    CHECK_FALSE(users.any_holds_role("admin").value());
}
