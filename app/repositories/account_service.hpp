#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/access/collection_rules.hpp"
#include "domain/error.hpp"
#include "domain/user.hpp"
#include "infrastructure/jwt_codec.hpp"
#include "infrastructure/password_hasher.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/role_repository.hpp"
#include "repositories/session_repository.hpp"
#include "repositories/user_repository.hpp"

namespace nexu::repositories {

struct AccountSettings {
    std::chrono::seconds access_token_lifetime{15 * 60};
    std::chrono::seconds refresh_token_lifetime{30 * 24 * 3600};
    std::chrono::seconds ws_ticket_lifetime{60};
};

// What a login or a refresh hands to the client.
struct TokenPair {
    std::string access_token;
    std::int64_t expires_in = 0;  // seconds
    std::string refresh_token;
    domain::User user;
};

// Registration, login, refresh, logout, password change and the check of
// every access token: the account rules over the user, role and session
// repositories, the Argon2id pool and the JWT codec.
//
// Access tokens are HS256 JWTs (sub, sid, iat, exp, jti, roles; kid in the
// header) signed with the tokens subkey. Checking one costs an HMAC and two
// map lookups: the user's state (exists, not disabled, roles) and its
// session's (not revoked) are cached for kStateTtl, so a deletion, a disabling,
// a role change or a revocation made on any instance stops the tokens
// everywhere within a second (the store shows other instances' writes within
// its sync interval, 100 ms by default).
//
// Password work runs on the hasher's pool; what follows it (store writes) is
// handed to `run_blocking` (the worker pool). Completion callbacks run on
// those threads. Thread-safe.
class AccountService {
public:
    using Clock = std::chrono::system_clock;
    using RunBlocking = std::function<void(std::function<void()>)>;
    template <class T>
    using Done = std::function<void(Result<T>)>;
    static constexpr std::chrono::milliseconds kStateTtl{800};
    static constexpr std::size_t kMaxVerifiedTokens = 100'000;

    AccountService(UserRepository& users,
                   RoleRepository& roles,
                   SessionRepository& sessions,
                   infrastructure::PasswordHasher& hasher,
                   const infrastructure::JwtCodec& tokens,
                   infrastructure::UuidV7Generator& ids,
                   RunBlocking run_blocking,
                   AccountSettings settings);

    struct NewUser {
        std::string username;
        std::string password;
        std::string email;
        std::string display_name;
        std::vector<std::string> roles{"user"};
    };
    // Errc::conflict ("username"/"email") when taken; Errc::unavailable when
    // the hashing queue is full. The caller validated the fields.
    void register_user(NewUser user, Done<domain::User> done);
    // The same, blocking: the first admin at start and `nexuctl admin create`.
    Result<domain::User> create_user_now(NewUser user);

    // By username, or by e-mail when `identifier` has an '@'. Errc::not_found
    // for any failure (unknown user, wrong password, disabled account), after
    // the same Argon2 work in every case; Errc::unavailable when the queue is full.
    void login(std::string identifier, std::string password, Done<TokenPair> done);
    // Errc::not_found or Errc::conflict (reuse: the session is now revoked)
    // for a token that does not refresh. Blocking.
    Result<TokenPair> refresh(std::string_view refresh_token);
    // Ends the caller's current session (the one its access token belongs
    // to) and the session of `refresh_token` if that is the caller's too.
    // Blocking.
    Result<void> logout(const domain::access::Principal& caller, std::string_view refresh_token);
    // Errc::invalid_argument when `current` is wrong; revokes the caller's
    // other sessions. Errc::unavailable when the queue is full.
    void change_password(const domain::access::Principal& caller,
                         std::string current,
                         std::string replacement,
                         Done<void> done);

    // The caller an access token names, or an error (every refusal is a 401
    // to the client; Errc::unavailable when the store cannot answer). Blocking
    // only when a cached state has expired.
    Result<domain::access::Principal> authenticate(std::string_view access_token);

    Result<std::string> issue_ws_ticket(const domain::access::Principal& caller);
    // The caller a WebSocket ticket names; spends it.
    Result<domain::access::Principal> redeem_ws_ticket(std::string_view ticket);

    // User administration (the routes check who may call).
    Result<domain::User> find_user(std::string_view id) const;
    Result<domain::User> update_user(domain::User user);  // compare-and-set on user.rev
    Result<void> delete_user(std::string_view id);
    void forget_user_state(std::string_view user_id);

    const AccountSettings& settings() const { return settings_; }

private:
    struct UserState {
        std::optional<domain::User> user;  // nullopt: deleted
        domain::access::PermissionSet permissions;
        std::chrono::steady_clock::time_point checked;
    };
    Result<TokenPair> issue_tokens(const domain::User& user, const SessionRepository::Issued& session);
    Result<UserState> user_state(std::string_view user_id);
    Result<bool> session_active(std::string_view session_id);
    Result<domain::access::Principal> principal_for(std::string_view user_id,
                                                    std::string_view session_id);
    static Result<domain::access::Principal> principal_of(const UserState& state,
                                                          std::string_view session_id);
    domain::User new_user_record(NewUser& user, std::string password_hash);

    UserRepository& users_;
    RoleRepository& roles_;
    SessionRepository& sessions_;
    infrastructure::PasswordHasher& hasher_;
    const infrastructure::JwtCodec& tokens_;
    infrastructure::UuidV7Generator& ids_;
    RunBlocking run_blocking_;
    AccountSettings settings_;

    // Tokens whose signature and claims were checked, with what they name:
    // a token seen again (every request of a client) skips the HMAC and the
    // JSON parse. Keyed by the exact token text, so nothing unverified can hit.
    struct VerifiedToken {
        std::string user_id;
        std::string session_id;
        std::int64_t expires_at = 0;  // exp, seconds since the epoch
    };
    // Looked up by string_view, without building a std::string per request.
    struct TextHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const noexcept {
            return std::hash<std::string_view>{}(text);
        }
    };
    template <class Value>
    using TextMap = std::unordered_map<std::string, Value, TextHash, std::equal_to<>>;
    using SessionState = std::pair<bool, std::chrono::steady_clock::time_point>;

    std::mutex cache_mutex_;
    TextMap<VerifiedToken> verified_tokens_;
    TextMap<UserState> user_states_;
    TextMap<SessionState> session_states_;
};

}  // namespace nexu::repositories
