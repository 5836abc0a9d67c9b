#include <catch2/catch.hpp>

#include "domain/access/collection_rules.hpp"

using namespace nexu::domain::access;

namespace {

CollectionRules rules(const char* read, const char* write) {
    return {*AccessRule::parse(read), *AccessRule::parse(write)};
}

Principal user(std::string id, std::vector<std::string> roles = {"user"},
               std::vector<std::string> permissions = {}) {
    Principal principal;
    principal.user_id = std::move(id);
    principal.roles = std::move(roles);
    principal.permissions = PermissionSet{std::move(permissions)};
    return principal;
}

const Principal kAnonymous{};

}  // namespace

TEST_CASE("rules parse from their four forms and nothing else", "[domain][access]") {
    CHECK(AccessRule::parse("public")->kind == AccessRule::Kind::anyone);
    CHECK(AccessRule::parse("role:editors")->role == "editors");
    CHECK(AccessRule::parse("role:editors")->to_string() == "role:editors");
    for (const auto* bad : {"", "Public", "role:", "role:Bad Name", "everyone", "owner "}) {
        INFO(bad);
        CHECK_FALSE(AccessRule::parse(bad));
    }
}

TEST_CASE("permission strings are validated", "[domain][access]") {
    for (const auto* good : {"collections:notes:read", "collections:*:write", "files:read",
                             "files:write", "chat:rooms:create", "users:admin", "system:admin"}) {
        INFO(good);
        CHECK(is_valid_permission(good));
    }
    for (const auto* bad : {"collections:notes:delete", "collections::read", "collections:Notes:read",
                            "files:*", "admin", "collections:notes"}) {
        INFO(bad);
        CHECK_FALSE(is_valid_permission(bad));
    }
}

TEST_CASE("the access table of API.md", "[domain][access]") {
    const auto alice = user("alice");
    const auto bob = user("bob");
    const auto admin = user("root", {"admin"});
    const auto editor = user("ed", {"user", "editors"});
    const auto reader = user("rita", {"user"}, {"collections:notes:read"});
    const auto wildcard = user("will", {"user"}, {"collections:*:write"});

    // owner: any user may create and reach their own documents only.
    const auto owned = rules("owner", "owner");
    CHECK(collection_access(alice, "notes", owned, Action::write).allowed);
    CHECK_FALSE(collection_access(alice, "notes", owned, Action::read).covers_all);
    CHECK(may_access_document(alice, "notes", owned, Action::read, "alice"));
    CHECK_FALSE(may_access_document(bob, "notes", owned, Action::read, "alice"));
    CHECK_FALSE(may_access_document(kAnonymous, "notes", owned, Action::read, ""));
    CHECK(may_access_document(admin, "notes", owned, Action::write, "alice"));
    CHECK(may_access_document(reader, "notes", owned, Action::read, "alice"));
    CHECK_FALSE(may_access_document(reader, "notes", owned, Action::write, "alice"));
    CHECK_FALSE(may_access_document(reader, "other", owned, Action::read, "alice"));
    CHECK(may_access_document(wildcard, "anything", owned, Action::write, "alice"));

    // public read, authenticated write.
    const auto open = rules("public", "authenticated");
    CHECK(may_access_document(kAnonymous, "notes", open, Action::read, "alice"));
    CHECK_FALSE(collection_access(kAnonymous, "notes", open, Action::write).allowed);
    CHECK(may_access_document(bob, "notes", open, Action::write, "alice"));

    // role rules.
    const auto editors = rules("role:editors", "role:editors");
    CHECK(may_access_document(editor, "notes", editors, Action::write, "alice"));
    CHECK_FALSE(collection_access(alice, "notes", editors, Action::read).allowed);
    CHECK_FALSE(collection_access(kAnonymous, "notes", editors, Action::read).allowed);
}

TEST_CASE("anonymous principals never hold roles or permissions", "[domain][access]") {
    Principal forged;
    forged.roles = {"admin"};
    forged.permissions = PermissionSet{{"collections:*:read"}};
    CHECK_FALSE(forged.is_admin());
    CHECK_FALSE(collection_access(forged, "notes", rules("owner", "owner"), Action::read).allowed);
}

TEST_CASE("collection names follow [a-z][a-z0-9_-]{0,63}", "[domain][access]") {
    CHECK(is_valid_collection_name("notes"));
    CHECK(is_valid_collection_name("a"));
    CHECK(is_valid_collection_name(std::string(64, 'a')));
    CHECK_FALSE(is_valid_collection_name(std::string(65, 'a')));
    CHECK_FALSE(is_valid_collection_name("_users"));
    CHECK_FALSE(is_valid_collection_name("1abc"));
    CHECK_FALSE(is_valid_collection_name("Notes"));
    CHECK_FALSE(is_valid_collection_name("a/b"));
}
