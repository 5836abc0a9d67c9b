#include "repositories/account_service.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "config/timing.hpp"
#include "domain/timestamp.hpp"

namespace nexu::repositories {

namespace {

constexpr std::size_t kMaxCachedStates = 100'000;

std::string new_jti() {
    unsigned char bytes[16];
    randombytes_buf(bytes, sizeof bytes);
    return infrastructure::base64url_encode({reinterpret_cast<const char*>(bytes), sizeof bytes});
}

Error busy() { return Error{Errc::unavailable, "password hashing queue full"}; }

}  // namespace

AccountService::AccountService(UserRepository& users,
                               RoleRepository& roles,
                               SessionRepository& sessions,
                               infrastructure::PasswordHasher& hasher,
                               const infrastructure::JwtCodec& tokens,
                               infrastructure::UuidV7Generator& ids,
                               RunBlocking run_blocking,
                               AccountSettings settings)
    : users_(users),
      roles_(roles),
      sessions_(sessions),
      hasher_(hasher),
      tokens_(tokens),
      ids_(ids),
      run_blocking_(std::move(run_blocking)),
      settings_(settings) {}

domain::User AccountService::new_user_record(NewUser& user, std::string password_hash) {
    const auto now = domain::format_timestamp(Clock::now());
    domain::User record;
    record.id = ids_.next();
    record.username = std::move(user.username);
    record.email = std::move(user.email);
    record.display_name = std::move(user.display_name);
    record.roles = std::move(user.roles);
    record.created_at = now;
    record.updated_at = now;
    record.password_hash = std::move(password_hash);
    return record;
}

void AccountService::register_user(NewUser user, Done<domain::User> done) {
    auto password = std::move(user.password);
    auto shared_done = std::make_shared<Done<domain::User>>(std::move(done));
    const bool queued = hasher_.hash(
        std::move(password), [this, user = std::move(user), shared_done](Result<std::string> hash) mutable {
            if (!hash) return (*shared_done)(tl::make_unexpected(hash.error()));
            run_blocking_([this, user = std::move(user), hash = std::move(*hash), shared_done]() mutable {
                (*shared_done)(config::timed("account_register", [&] {
                    return users_.create(new_user_record(user, std::move(hash)));
                }));
            });
        });
    if (!queued) (*shared_done)(tl::make_unexpected(busy()));
}

Result<domain::User> AccountService::create_user_now(NewUser user) {
    auto hash = hasher_.hash_now(user.password);
    sodium_memzero(user.password.data(), user.password.size());
    if (!hash) return tl::make_unexpected(hash.error());
    return users_.create(new_user_record(user, std::move(*hash)));
}

void AccountService::login(std::string identifier, std::string password, Done<TokenPair> done) {
    auto found = config::timed("account_find_login", [&] {
        return identifier.find('@') != std::string::npos ? users_.find_by_email(identifier)
                                                         : users_.find_by_username(identifier);
    });
    if (!found && found.error().code != Errc::not_found) {
        sodium_memzero(password.data(), password.size());
        return done(tl::make_unexpected(found.error()));
    }
    // An unknown user is checked against the dummy hash: the same work, the same answer.
    std::string stored_hash = found ? found->password_hash : std::string{};
    auto user = found ? std::optional<domain::User>{std::move(*found)} : std::nullopt;
    auto shared_done = std::make_shared<Done<TokenPair>>(std::move(done));
    const bool queued = hasher_.verify(
        std::move(stored_hash), std::move(password),
        [this, user = std::move(user), shared_done](bool matches) mutable {
            if (!matches || !user || user->disabled) {
                return (*shared_done)(fail(Errc::not_found, "bad credentials"));
            }
            run_blocking_([this, user = std::move(*user), shared_done] {
                (*shared_done)(config::timed("account_login", [&]() -> Result<TokenPair> {
                    auto session = sessions_.open(user.id, Clock::now());
                    if (!session) return tl::make_unexpected(session.error());
                    return issue_tokens(user, *session);
                }));
            });
        });
    if (!queued) (*shared_done)(tl::make_unexpected(busy()));
}

Result<TokenPair> AccountService::issue_tokens(const domain::User& user,
                                               const SessionRepository::Issued& session) {
    const auto now = Clock::now();
    const nlohmann::json claims{{"sub", user.id},
                                {"sid", session.session_id},
                                {"iat", domain::unix_seconds(now)},
                                {"exp", domain::unix_seconds(now + settings_.access_token_lifetime)},
                                {"jti", new_jti()},
                                {"roles", user.roles}};
    return TokenPair{tokens_.sign(claims), settings_.access_token_lifetime.count(),
                     session.refresh_token, user};
}

Result<TokenPair> AccountService::refresh(std::string_view refresh_token) {
    return config::timed("account_refresh", [&]() -> Result<TokenPair> {
        auto rotated = sessions_.rotate(refresh_token, Clock::now());
        if (!rotated) {
            if (rotated.error().code == Errc::conflict) {
                std::lock_guard lock{cache_mutex_};
                session_states_.clear();  // the revoked family's tokens stop here at once
            }
            return tl::make_unexpected(rotated.error());
        }
        auto user = users_.find(rotated->user_id);
        if (!user) {
            if (user.error().code == Errc::not_found) return fail(Errc::not_found, "user deleted");
            return tl::make_unexpected(user.error());
        }
        if (user->disabled) return fail(Errc::not_found, "user disabled");
        return issue_tokens(*user, *rotated);
    });
}

Result<void> AccountService::logout(const domain::access::Principal& caller,
                                    std::string_view refresh_token) {
    auto revoked = config::timed("account_logout", [&]() -> Result<void> {
        if (!refresh_token.empty()) {
            auto by_token = sessions_.revoke_by_token(refresh_token, caller.user_id);
            if (!by_token && by_token.error().code != Errc::not_found) return by_token;
        }
        return sessions_.revoke(caller.session_id, "logout");
    });
    if (!revoked) return revoked;
    std::lock_guard lock{cache_mutex_};
    session_states_.clear();  // the refresh token's session may be another cached one
    return {};
}

void AccountService::change_password(const domain::access::Principal& caller,
                                     std::string current,
                                     std::string replacement,
                                     Done<void> done) {
    auto user = users_.find(caller.user_id);
    if (!user) {
        sodium_memzero(current.data(), current.size());
        sodium_memzero(replacement.data(), replacement.size());
        return done(tl::make_unexpected(user.error()));
    }
    auto shared_done = std::make_shared<Done<void>>(std::move(done));
    auto stored_hash = user->password_hash;
    const bool queued = hasher_.verify(
        std::move(stored_hash), std::move(current),
        [this, caller, replacement = std::move(replacement), shared_done](bool matches) mutable {
            if (!matches) {
                sodium_memzero(replacement.data(), replacement.size());
                return (*shared_done)(fail(Errc::invalid_argument, "wrong current password"));
            }
            // Hashed on this pool thread already: a second queue trip would only add waiting.
            auto hash = hasher_.hash_now(replacement);
            sodium_memzero(replacement.data(), replacement.size());
            if (!hash) return (*shared_done)(tl::make_unexpected(hash.error()));
            run_blocking_([this, caller, hash = std::move(*hash), shared_done] {
                (*shared_done)(config::timed("account_change_password", [&]() -> Result<void> {
                    for (int attempt = 0; attempt < 5; ++attempt) {
                        auto latest = users_.find(caller.user_id);
                        if (!latest) return tl::make_unexpected(latest.error());
                        latest->password_hash = hash;
                        latest->updated_at = domain::format_timestamp(Clock::now());
                        auto written = users_.update(std::move(*latest));
                        if (written) {
                            auto revoked = sessions_.revoke_all_of(caller.user_id, caller.session_id);
                            forget_user_state(caller.user_id);
                            if (!revoked) return tl::make_unexpected(revoked.error());
                            return {};
                        }
                        if (written.error().code != Errc::conflict) {
                            return tl::make_unexpected(written.error());
                        }
                    }
                    return fail(Errc::unavailable, "user changed concurrently");
                }));
            });
        });
    if (!queued) (*shared_done)(tl::make_unexpected(busy()));
}

Result<AccountService::UserState> AccountService::user_state(std::string_view user_id) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock{cache_mutex_};
        const auto it = user_states_.find(user_id);
        if (it != user_states_.end() && now - it->second.checked < kStateTtl) return it->second;
    }
    UserState state;
    state.checked = now;
    auto user = users_.find(user_id);
    if (user) {
        auto permissions = roles_.permissions_of(user->roles);
        if (!permissions) return tl::make_unexpected(permissions.error());
        state.permissions = std::move(*permissions);
        state.user = std::move(*user);
    } else if (user.error().code != Errc::not_found) {
        return tl::make_unexpected(user.error());
    }
    std::lock_guard lock{cache_mutex_};
    if (user_states_.size() >= kMaxCachedStates) user_states_.clear();
    user_states_[std::string{user_id}] = state;
    return state;
}

Result<bool> AccountService::session_active(std::string_view session_id) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock{cache_mutex_};
        const auto it = session_states_.find(session_id);
        if (it != session_states_.end() && now - it->second.second < kStateTtl) return it->second.first;
    }
    auto active = sessions_.is_active(session_id, Clock::now());
    if (!active) return active;
    std::lock_guard lock{cache_mutex_};
    if (session_states_.size() >= kMaxCachedStates) session_states_.clear();
    session_states_[std::string{session_id}] = {*active, now};
    return active;
}

Result<domain::access::Principal> AccountService::principal_of(const UserState& state,
                                                               std::string_view session_id) {
    if (!state.user) return fail(Errc::not_found, "user deleted");
    if (state.user->disabled) return fail(Errc::not_found, "user disabled");
    domain::access::Principal principal;
    principal.user_id = state.user->id;
    principal.username = state.user->username;
    principal.session_id = std::string{session_id};
    principal.roles = state.user->roles;
    principal.permissions = state.permissions;
    return principal;
}

Result<domain::access::Principal> AccountService::principal_for(std::string_view user_id,
                                                                std::string_view session_id) {
    {
        // The common case: both states fresh, one lock, no store read.
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock{cache_mutex_};
        const auto session = session_states_.find(session_id);
        const auto user = user_states_.find(user_id);
        if (session != session_states_.end() && now - session->second.second < kStateTtl &&
            user != user_states_.end() && now - user->second.checked < kStateTtl) {
            if (!session->second.first) return fail(Errc::not_found, "session revoked or expired");
            return principal_of(user->second, session_id);
        }
    }
    auto active = session_active(session_id);
    if (!active) return tl::make_unexpected(active.error());
    if (!*active) return fail(Errc::not_found, "session revoked or expired");
    auto state = user_state(user_id);
    if (!state) return tl::make_unexpected(state.error());
    return principal_of(*state, session_id);
}

Result<domain::access::Principal> AccountService::authenticate(std::string_view access_token) {
    const auto now_seconds = domain::unix_seconds(Clock::now());
    VerifiedToken named;
    bool is_known = false;
    {
        std::lock_guard lock{cache_mutex_};
        const auto it = verified_tokens_.find(access_token);
        if (it != verified_tokens_.end()) {
            if (it->second.expires_at <= now_seconds) {
                verified_tokens_.erase(it);
                return fail(Errc::invalid_argument, "expired");
            }
            named = it->second;
            is_known = true;
        }
    }
    if (!is_known) {
        auto claims = tokens_.verify(access_token, now_seconds);
        if (!claims) return tl::make_unexpected(claims.error());
        const auto sub = claims->find("sub");
        const auto sid = claims->find("sid");
        if (sub == claims->end() || !sub->is_string() || sid == claims->end() || !sid->is_string() ||
            !infrastructure::is_uuid_v7(sub->get_ref<const std::string&>()) ||
            !infrastructure::is_uuid_v7(sid->get_ref<const std::string&>())) {
            return fail(Errc::invalid_argument, "token without sub or sid");
        }
        named = {sub->get<std::string>(), sid->get<std::string>(), claims->at("exp").get<std::int64_t>()};
        std::lock_guard lock{cache_mutex_};
        if (verified_tokens_.size() >= kMaxVerifiedTokens) verified_tokens_.clear();
        verified_tokens_.emplace(std::string{access_token}, named);
    }
    return principal_for(named.user_id, named.session_id);
}

Result<std::string> AccountService::issue_ws_ticket(const domain::access::Principal& caller) {
    return config::timed("account_ws_ticket", [&] {
        return sessions_.issue_ticket(caller.user_id, caller.session_id, Clock::now(),
                                      settings_.ws_ticket_lifetime);
    });
}

Result<domain::access::Principal> AccountService::redeem_ws_ticket(std::string_view ticket) {
    auto redeemed = config::timed("account_redeem_ticket",
                                  [&] { return sessions_.redeem_ticket(ticket, Clock::now()); });
    if (!redeemed) return tl::make_unexpected(redeemed.error());
    return principal_for(redeemed->user_id, redeemed->session_id);
}

Result<domain::User> AccountService::find_user(std::string_view id) const {
    return config::timed("user_find", [&] { return users_.find(id); });
}

Result<domain::User> AccountService::update_user(domain::User user) {
    const auto id = user.id;
    auto written = config::timed("user_update", [&] { return users_.update(std::move(user)); });
    forget_user_state(id);
    return written;
}

Result<void> AccountService::delete_user(std::string_view id) {
    auto removed = config::timed("user_delete", [&] { return users_.remove(id); });
    if (!removed) return removed;
    forget_user_state(id);
    if (auto revoked = sessions_.revoke_all_of(id, ""); !revoked) {
        spdlog::warn("deleted user {} but could not revoke its sessions: {}", id, revoked.error().context);
    }
    return {};
}

void AccountService::forget_user_state(std::string_view user_id) {
    std::lock_guard lock{cache_mutex_};
    user_states_.erase(std::string{user_id});
}

}  // namespace nexu::repositories
