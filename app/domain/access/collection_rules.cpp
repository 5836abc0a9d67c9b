#include "domain/access/collection_rules.hpp"

#include <algorithm>

namespace nexu::domain::access {

Result<AccessRule> AccessRule::parse(std::string_view text) {
    if (text == "public") return AccessRule{Kind::anyone, {}};
    if (text == "authenticated") return AccessRule{Kind::authenticated, {}};
    if (text == "owner") return AccessRule{Kind::owner, {}};
    constexpr std::string_view kRole = "role:";
    if (text.starts_with(kRole) && text.size() > kRole.size() && text.size() <= 64 + kRole.size()) {
        const auto name = text.substr(kRole.size());
        const bool ok = std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                   c == '.';
        });
        if (ok) return AccessRule{Kind::role, std::string{name}};
    }
    return fail(Errc::invalid_argument,
                "a rule must be \"public\", \"authenticated\", \"owner\" or \"role:<name>\"");
}

std::string AccessRule::to_string() const {
    switch (kind) {
        case Kind::anyone:
            return "public";
        case Kind::authenticated:
            return "authenticated";
        case Kind::owner:
            return "owner";
        case Kind::role:
            return "role:" + role;
    }
    return "owner";
}

bool Principal::has_role(std::string_view role) const {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Principal::is_admin() const {
    return is_authenticated() && has_role("admin");
}

namespace {

const char* action_name(Action action) {
    return action == Action::read ? "read" : "write";
}

}  // namespace

CollectionAccess collection_access(const Principal& principal,
                                   std::string_view collection,
                                   const CollectionRules& rules,
                                   Action action) {
    if (principal.is_admin()) return {true, true};
    if (principal.is_authenticated() &&
        principal.permissions.allows_collection(collection, action_name(action))) {
        return {true, true};
    }
    const AccessRule& rule = action == Action::read ? rules.read : rules.write;
    switch (rule.kind) {
        case AccessRule::Kind::anyone:
            return {true, true};
        case AccessRule::Kind::authenticated:
            return {principal.is_authenticated(), principal.is_authenticated()};
        case AccessRule::Kind::owner:
            // Any user may create and reach their own documents, nobody else's.
            return {principal.is_authenticated(), false};
        case AccessRule::Kind::role: {
            const bool holds = principal.is_authenticated() && principal.has_role(rule.role);
            return {holds, holds};
        }
    }
    return {};
}

bool may_access_document(const Principal& principal,
                         std::string_view collection,
                         const CollectionRules& rules,
                         Action action,
                         std::string_view owner_id) {
    const auto access = collection_access(principal, collection, rules, action);
    if (!access.allowed) return false;
    return access.covers_all || (!owner_id.empty() && owner_id == principal.user_id);
}

}  // namespace nexu::domain::access
