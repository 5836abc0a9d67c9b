#include "repositories/role_repository.hpp"

#include <algorithm>

#include "domain/access/permission.hpp"
#include "domain/user.hpp"

namespace nexu::repositories {

namespace {

constexpr std::string_view kAdmin = "admin";
constexpr std::string_view kUser = "user";

std::vector<std::string> sorted_unique(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    return items;
}

bool is_builtin_name(std::string_view name) { return name == kAdmin || name == kUser; }

}  // namespace

Role RoleRepository::builtin(std::string_view name) {
    if (name == kUser) return {std::string{kUser}, {"chat:rooms:create", "files:read", "files:write"}, true};
    return {std::string{kAdmin}, {}, true};
}

Result<Role> RoleRepository::load(std::string_view name) const {
    auto stored = documents_.find(kCollection, name);
    if (!stored) {
        if (stored.error().code == Errc::not_found && is_builtin_name(name)) return builtin(name);
        return tl::make_unexpected(stored.error());
    }
    try {
        Role role{std::string{name}, (*stored).at("permissions").get<std::vector<std::string>>(),
                  is_builtin_name(name)};
        return role;
    } catch (const nlohmann::json::exception& e) {
        return fail(Errc::corrupt_object, "role " + std::string{name} + ": " + e.what());
    }
}

Result<std::vector<Role>> RoleRepository::list() const {
    std::vector<Role> roles;
    bool saw_user = false;
    auto scanned = documents_.scan(kCollection, "", [&](const std::string& id, const nlohmann::json& body) {
        if (id == kAdmin) return true;  // admin is never stored with meaning
        saw_user = saw_user || id == kUser;
        Role role{id, {}, is_builtin_name(id)};
        if (body.contains("permissions") && body["permissions"].is_array()) {
            for (const auto& permission : body["permissions"]) {
                if (permission.is_string()) role.permissions.push_back(permission.get<std::string>());
            }
        }
        roles.push_back(std::move(role));
        return true;
    });
    if (!scanned && scanned.error().code != Errc::not_found) return tl::make_unexpected(scanned.error());
    if (!saw_user) roles.push_back(builtin(kUser));
    roles.push_back(builtin(kAdmin));
    std::sort(roles.begin(), roles.end(), [](const Role& a, const Role& b) { return a.name < b.name; });
    return roles;
}

Result<Role> RoleRepository::find(std::string_view name) const {
    if (!domain::is_valid_role_name(name)) return fail(Errc::not_found, "role name");
    return load(name);
}

Result<bool> RoleRepository::put(std::string_view name, std::vector<std::string> permissions) {
    if (!domain::is_valid_role_name(name)) {
        return fail(Errc::invalid_argument, "name: must be 1 to 64 of a-z, 0-9, _ . -");
    }
    if (name == kAdmin) return fail(Errc::conflict, "the admin role holds every permission and cannot be changed");
    for (const auto& permission : permissions) {
        if (!domain::access::is_valid_permission(permission)) {
            return fail(Errc::invalid_argument, "permissions: unknown permission \"" + permission + '"');
        }
    }
    const auto existed = documents_.find(kCollection, name);
    if (!existed && existed.error().code != Errc::not_found) return tl::make_unexpected(existed.error());
    nlohmann::json body{{"permissions", sorted_unique(std::move(permissions))}};
    auto written = documents_.replace(kCollection, name, std::move(body));
    if (!written) return tl::make_unexpected(written.error());
    {
        std::lock_guard lock{mutex_};
        cache_.erase(std::string{name});
    }
    return !existed && !is_builtin_name(name);
}

Result<void> RoleRepository::remove(std::string_view name) {
    if (is_builtin_name(name)) return fail(Errc::conflict, "built-in roles cannot be deleted");
    auto removed = documents_.remove(kCollection, name);
    if (!removed) return tl::make_unexpected(removed.error());
    std::lock_guard lock{mutex_};
    cache_.erase(std::string{name});
    return {};
}

Result<domain::access::PermissionSet> RoleRepository::permissions_of(
    const std::vector<std::string>& roles) const {
    std::vector<std::string> permissions;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& name : roles) {
        {
            std::lock_guard lock{mutex_};
            const auto it = cache_.find(name);
            if (it != cache_.end() && now - it->second.loaded < kCacheTtl) {
                if (it->second.exists) {
                    permissions.insert(permissions.end(), it->second.role.permissions.begin(),
                                       it->second.role.permissions.end());
                }
                continue;
            }
        }
        auto role = load(name);
        if (!role && role.error().code != Errc::not_found) return tl::make_unexpected(role.error());
        CachedRole cached{role ? *role : Role{}, role.has_value(), now};
        if (role) permissions.insert(permissions.end(), role->permissions.begin(), role->permissions.end());
        std::lock_guard lock{mutex_};
        cache_[name] = std::move(cached);
    }
    return domain::access::PermissionSet{std::move(permissions)};
}

}  // namespace nexu::repositories
