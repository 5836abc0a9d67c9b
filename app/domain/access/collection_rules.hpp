#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/access/permission.hpp"
#include "domain/error.hpp"

namespace nexu::domain::access {

// Who may read or write a collection's documents, as API.md defines it:
// "public" (anyone, even without a token), "authenticated" (any user),
// "owner" (any user may create; only the document's _owner may read or change
// it) or "role:NAME" (users holding that role).
struct AccessRule {
    enum class Kind { anyone, authenticated, owner, role };
    Kind kind = Kind::owner;
    std::string role;  // for Kind::role

    static Result<AccessRule> parse(std::string_view text);
    std::string to_string() const;
    bool operator==(const AccessRule&) const = default;
};

// A collection created without rules gets {"read":"owner","write":"owner"}.
struct CollectionRules {
    AccessRule read;
    AccessRule write;
};

// The caller of a request: anonymous, or a user with roles and the
// permissions those roles grant.
struct Principal {
    std::string user_id;  // empty when anonymous
    std::string username;
    std::string session_id;  // the login (refresh family) the access token belongs to
    std::vector<std::string> roles;
    PermissionSet permissions;

    bool is_authenticated() const { return !user_id.empty(); }
    bool is_admin() const;
    bool has_role(std::string_view role) const;
};

enum class Action { read, write };

// Decisions for one collection. A caller may act on the collection (list,
// query, create) when its rule or a permission lets it; `covers_all` tells
// whether that reaches every document or, under the owner rule, only the
// caller's own.
struct CollectionAccess {
    bool allowed = false;
    bool covers_all = false;
};

CollectionAccess collection_access(const Principal& principal,
                                   std::string_view collection,
                                   const CollectionRules& rules,
                                   Action action);

// Whether the caller may act on one document owned by `owner_id`.
bool may_access_document(const Principal& principal,
                         std::string_view collection,
                         const CollectionRules& rules,
                         Action action,
                         std::string_view owner_id);

}  // namespace nexu::domain::access
