#include "domain/access/permission.hpp"

#include <algorithm>

namespace nexu::domain::access {

bool is_valid_collection_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() < 'a' || name.front() > 'z') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool is_valid_permission(std::string_view permission) {
    for (const auto fixed :
         {"files:read", "files:write", "chat:rooms:create", "users:admin", "system:admin"}) {
        if (permission == fixed) return true;
    }
    constexpr std::string_view kPrefix = "collections:";
    if (!permission.starts_with(kPrefix)) return false;
    permission.remove_prefix(kPrefix.size());
    const auto colon = permission.rfind(':');
    if (colon == std::string_view::npos) return false;
    const auto collection = permission.substr(0, colon);
    const auto action = permission.substr(colon + 1);
    return (action == "read" || action == "write") &&
           (collection == "*" || is_valid_collection_name(collection));
}

PermissionSet::PermissionSet(std::vector<std::string> permissions)
    : permissions_(std::move(permissions)) {
    std::sort(permissions_.begin(), permissions_.end());
    permissions_.erase(std::unique(permissions_.begin(), permissions_.end()), permissions_.end());
}

bool PermissionSet::allows(std::string_view permission) const {
    return std::binary_search(permissions_.begin(), permissions_.end(), permission, std::less<>{});
}

bool PermissionSet::allows_collection(std::string_view collection, std::string_view action) const {
    const auto specific = "collections:" + std::string{collection} + ":" + std::string{action};
    const auto every = "collections:*:" + std::string{action};
    return allows(specific) || allows(every);
}

}  // namespace nexu::domain::access
