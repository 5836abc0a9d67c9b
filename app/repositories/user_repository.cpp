#include "repositories/user_repository.hpp"

#include <spdlog/spdlog.h>

namespace nexu::repositories {

namespace {

constexpr std::string_view kUsers = "_users";
constexpr std::string_view kUsernames = "_usernames";
constexpr std::string_view kEmails = "_emails";

Result<domain::User> to_user(const nlohmann::json& stored) {
    const auto id = stored.at("_id").get<std::string>();
    const auto rev = stored.at("_rev").get<std::uint64_t>();
    return domain::user_from_stored(id, rev, stored);
}

}  // namespace

std::string UserRepository::claim_id(Claim kind, std::string_view value) const {
    if (kind == Claim::username) {
        return crypto_.keyed_hash(infrastructure::KeyPurpose::lookups, "username:" + std::string{value});
    }
    return crypto_.keyed_hash(infrastructure::KeyPurpose::lookups,
                              "email:" + domain::normalized_email(value));
}

Result<void> UserRepository::take_claim(Claim kind, std::string_view value, std::string_view user_id) {
    const auto collection = kind == Claim::username ? kUsernames : kEmails;
    const auto id = claim_id(kind, value);
    const nlohmann::json claim{{"user", user_id}};
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto created = documents_.create(collection, id, claim);
        if (created) return {};
        if (created.error().code != Errc::conflict) return tl::make_unexpected(created.error());
        auto held = documents_.find(collection, id);
        if (!held) {
            if (held.error().code == Errc::not_found) continue;  // released meanwhile
            return tl::make_unexpected(held.error());
        }
        const auto holder = held->value("user", "");
        if (holder == user_id) return {};
        auto owner = documents_.find(kUsers, holder);
        if (owner) return fail(Errc::conflict, kind == Claim::username ? "username" : "email");
        if (owner.error().code != Errc::not_found) return tl::make_unexpected(owner.error());
        // A stale claim: its user is gone. Take it over if nobody else does first.
        auto taken = documents_.replace(collection, id, claim, held->at("_rev").get<std::uint64_t>());
        if (taken) return {};
        if (taken.error().code != Errc::conflict) return tl::make_unexpected(taken.error());
    }
    return fail(Errc::conflict, kind == Claim::username ? "username" : "email");
}

void UserRepository::release_claim(Claim kind, std::string_view value, std::string_view user_id) {
    const auto collection = kind == Claim::username ? kUsernames : kEmails;
    const auto id = claim_id(kind, value);
    auto held = documents_.find(collection, id);
    if (!held || held->value("user", "") != user_id) return;
    if (auto removed = documents_.remove(collection, id, held->at("_rev").get<std::uint64_t>());
        !removed && removed.error().code != Errc::conflict && removed.error().code != Errc::not_found) {
        spdlog::warn("could not release a {} claim of user {}: {}",
                     kind == Claim::username ? "username" : "email", user_id, removed.error().context);
    }
}

Result<domain::User> UserRepository::create(domain::User user) {
    auto stored = documents_.create(kUsers, user.id, domain::to_stored_json(user));
    if (!stored) return tl::make_unexpected(stored.error());
    user.rev = stored->at("_rev").get<std::uint64_t>();
    auto undo = [&] {
        if (auto removed = documents_.remove(kUsers, user.id); !removed) {
            spdlog::warn("could not remove the unclaimed user {}: {}", user.id, removed.error().context);
        }
    };
    if (auto claimed = take_claim(Claim::username, user.username, user.id); !claimed) {
        undo();
        return tl::make_unexpected(claimed.error());
    }
    if (!user.email.empty()) {
        if (auto claimed = take_claim(Claim::email, user.email, user.id); !claimed) {
            release_claim(Claim::username, user.username, user.id);
            undo();
            return tl::make_unexpected(claimed.error());
        }
    }
    return user;
}

Result<domain::User> UserRepository::find(std::string_view id) const {
    auto stored = documents_.find_fresh(kUsers, id);
    if (!stored) return tl::make_unexpected(stored.error());
    return to_user(*stored);
}

Result<domain::User> UserRepository::find_by_claim(Claim kind, std::string_view value) const {
    const auto collection = kind == Claim::username ? kUsernames : kEmails;
    auto claim = documents_.find_fresh(collection, claim_id(kind, value));
    if (!claim) return tl::make_unexpected(claim.error());
    auto user = find(claim->value("user", ""));
    if (!user) return user;
    // The claim names the user; the user must still carry the name.
    const bool matches = kind == Claim::username
                             ? user->username == value
                             : domain::normalized_email(user->email) == domain::normalized_email(value);
    if (!matches) return fail(Errc::not_found, "stale claim");
    return user;
}

Result<domain::User> UserRepository::find_by_username(std::string_view username) const {
    return find_by_claim(Claim::username, username);
}

Result<domain::User> UserRepository::find_by_email(std::string_view email) const {
    return find_by_claim(Claim::email, email);
}

Result<domain::User> UserRepository::update(domain::User user) {
    auto current = find(user.id);
    if (!current) return tl::make_unexpected(current.error());
    const bool email_changed =
        domain::normalized_email(current->email) != domain::normalized_email(user.email);
    if (email_changed && !user.email.empty()) {
        if (auto claimed = take_claim(Claim::email, user.email, user.id); !claimed) {
            return tl::make_unexpected(claimed.error());
        }
    }
    auto written = documents_.replace(kUsers, user.id, domain::to_stored_json(user), user.rev);
    if (!written) {
        if (email_changed && !user.email.empty()) release_claim(Claim::email, user.email, user.id);
        return tl::make_unexpected(written.error());
    }
    if (email_changed && !current->email.empty()) release_claim(Claim::email, current->email, user.id);
    user.rev = written->at("_rev").get<std::uint64_t>();
    return user;
}

Result<void> UserRepository::remove(std::string_view id) {
    auto user = find(id);
    if (!user) return tl::make_unexpected(user.error());
    // The user first: a crash after it leaves stale claims, which the next
    // registration of the name takes over.
    if (auto removed = documents_.remove(kUsers, id, user->rev); !removed) {
        return tl::make_unexpected(removed.error());
    }
    release_claim(Claim::username, user->username, user->id);
    if (!user->email.empty()) release_claim(Claim::email, user->email, user->id);
    return {};
}

Result<UserRepository::Page> UserRepository::list(std::string_view cursor, std::size_t limit) const {
    auto page = documents_.list(kUsers, cursor, limit);
    if (!page) return tl::make_unexpected(page.error());
    Page users;
    users.next_cursor = std::move(page->next_cursor);
    for (const auto& stored : page->items) {
        auto user = to_user(stored);
        if (!user) return tl::make_unexpected(user.error());
        users.items.push_back(std::move(*user));
    }
    return users;
}

Result<bool> UserRepository::any_holds_role(std::string_view role) const {
    bool held = false;
    auto scanned = documents_.scan(kUsers, "", [&](const std::string&, const nlohmann::json& body) {
        const auto roles = body.find("roles");
        if (roles != body.end() && roles->is_array()) {
            for (const auto& name : *roles) held = held || (name.is_string() && name.get<std::string>() == role);
        }
        return !held;
    });
    if (!scanned && scanned.error().code != Errc::not_found) return tl::make_unexpected(scanned.error());
    return held;
}

}  // namespace nexu::repositories
