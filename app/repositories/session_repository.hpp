#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/error.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::repositories {

// Login sessions (refresh-token families) in the system collection
// `_sessions`, and single-use WebSocket tickets in `_ws_tickets`.
//
// A refresh token is "<session id>.<32 random bytes, base64url>"; only a
// keyed hash of the random part is stored. Each refresh spends the current
// token and stores the next one with a compare-and-set on the session's
// revision, so two requests (on any instances sharing the data directory)
// racing with one token cannot both win. Presenting a token of the family
// that was already spent (the loser of such a race included) revokes the
// whole session: a stolen token used after its owner refreshed, or the
// reverse, ends the session for both.
// Thread-safe; calls block on the store, so run them on worker threads.
class SessionRepository {
public:
    struct Issued {
        std::string session_id;
        std::string user_id;
        std::string refresh_token;  // shown once to the client, never stored or logged
    };
    struct Ticket {
        std::string user_id;
        std::string session_id;
    };
    using Clock = std::chrono::system_clock;
    static constexpr std::size_t kSpentHashesKept = 32;

    SessionRepository(DocumentRepository& documents,
                      const infrastructure::Crypto& crypto,
                      infrastructure::UuidV7Generator& ids,
                      std::chrono::seconds refresh_lifetime)
        : documents_(documents), crypto_(crypto), ids_(ids), refresh_lifetime_(refresh_lifetime) {}

    // A new session for `user_id` (a login).
    Result<Issued> open(std::string_view user_id, Clock::time_point now);
    // Spends `refresh_token` and issues the next one of its family.
    // Errc::not_found for an unknown, malformed, expired or revoked token;
    // Errc::conflict when it was already spent (the family is now revoked).
    Result<Issued> rotate(std::string_view refresh_token, Clock::time_point now);
    // Revokes the session `refresh_token` belongs to if it is `user_id`'s
    // (Errc::not_found otherwise).
    Result<void> revoke_by_token(std::string_view refresh_token, std::string_view user_id);
    Result<void> revoke(std::string_view session_id, std::string_view reason);
    // Revokes every session of `user_id` except `keep_session_id`.
    Result<std::size_t> revoke_all_of(std::string_view user_id, std::string_view keep_session_id);
    // Whether the session exists, is not revoked and has not expired.
    Result<bool> is_active(std::string_view session_id, Clock::time_point now) const;

    // A single-use ticket for one WebSocket upgrade, valid `lifetime`.
    Result<std::string> issue_ticket(std::string_view user_id,
                                     std::string_view session_id,
                                     Clock::time_point now,
                                     std::chrono::seconds lifetime);
    // Spends a ticket (exactly once across instances); Errc::not_found when
    // unknown, spent or expired.
    Result<Ticket> redeem_ticket(std::string_view ticket, Clock::time_point now);

private:
    struct Parsed {
        std::string session_id;
        std::string secret_hash;
    };
    static std::optional<std::pair<std::string, std::string>> split_token(std::string_view token);
    std::optional<Parsed> parse(std::string_view refresh_token) const;
    std::string new_secret(std::string& hash) const;

    DocumentRepository& documents_;
    const infrastructure::Crypto& crypto_;
    infrastructure::UuidV7Generator& ids_;
    std::chrono::seconds refresh_lifetime_;
};

}  // namespace nexu::repositories
