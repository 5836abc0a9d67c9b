#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/access/permission.hpp"
#include "domain/error.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::repositories {

struct Role {
    std::string name;
    std::vector<std::string> permissions;  // sorted, unique
    bool is_builtin = false;
};

// Roles and the permissions they grant, in the system collection `_roles`.
// The built-in roles always exist: `admin` (everything; its permissions are
// not used, admins bypass checks) and `user` (files:read, files:write,
// chat:rooms:create by default; an admin may change them). Neither can be
// deleted. Reads of the permissions behind a set of roles are cached briefly
// (kCacheTtl), so a change reaches every instance within a second.
// Thread-safe; calls may read the store, so run them on worker threads.
class RoleRepository {
public:
    static constexpr std::chrono::milliseconds kCacheTtl{800};
    static constexpr std::string_view kCollection = "_roles";

    explicit RoleRepository(DocumentRepository& documents) : documents_(documents) {}

    Result<std::vector<Role>> list() const;
    Result<Role> find(std::string_view name) const;
    // Creates (true) or replaces (false). Errc::invalid_argument for a bad
    // name or permission (context says which), Errc::conflict for `admin`.
    Result<bool> put(std::string_view name, std::vector<std::string> permissions);
    // Errc::conflict for a built-in role, Errc::not_found when absent. The
    // caller checks that no user holds it.
    Result<void> remove(std::string_view name);

    // The union of the permissions of `roles` (unknown roles grant nothing).
    Result<domain::access::PermissionSet> permissions_of(const std::vector<std::string>& roles) const;

private:
    static Role builtin(std::string_view name);
    Result<Role> load(std::string_view name) const;

    DocumentRepository& documents_;
    struct CachedRole {
        Role role;
        bool exists = false;
        std::chrono::steady_clock::time_point loaded;
    };
    mutable std::mutex mutex_;
    mutable std::unordered_map<std::string, CachedRole> cache_;
};

}  // namespace nexu::repositories
