#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nexu::domain::access {

// Permission strings of API.md: `collections:<name>:read|write` (or `*` for
// every collection), `files:read`, `files:write`, `chat:rooms:create`,
// `users:admin`, `system:admin`.
bool is_valid_permission(std::string_view permission);

// The permissions a principal holds through its roles. Matching is exact, plus
// `collections:*:ACTION` covering every collection.
class PermissionSet {
public:
    PermissionSet() = default;
    explicit PermissionSet(std::vector<std::string> permissions);

    bool allows(std::string_view permission) const;
    bool allows_collection(std::string_view collection, std::string_view action) const;
    const std::vector<std::string>& items() const { return permissions_; }

private:
    std::vector<std::string> permissions_;  // sorted, unique
};

// Collection names: [a-z][a-z0-9_-]{0,63}.
bool is_valid_collection_name(std::string_view name);

}  // namespace nexu::domain::access
