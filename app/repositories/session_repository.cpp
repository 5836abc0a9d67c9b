#include "repositories/session_repository.hpp"

#include <sodium.h>

#include "domain/timestamp.hpp"
#include "infrastructure/jwt_codec.hpp"
#include "infrastructure/uuid_v7.hpp"

namespace nexu::repositories {

namespace {

constexpr std::string_view kSessions = "_sessions";
constexpr std::string_view kTickets = "_ws_tickets";
constexpr std::size_t kSecretBytes = 32;

std::string random_secret() {
    std::string bytes(kSecretBytes, '\0');
    randombytes_buf(bytes.data(), bytes.size());
    auto text = infrastructure::base64url_encode(bytes);
    sodium_memzero(bytes.data(), bytes.size());
    return text;
}

bool is_revoked(const nlohmann::json& session) { return session.value("revoked", false); }

}  // namespace

std::optional<std::pair<std::string, std::string>> SessionRepository::split_token(std::string_view token) {
    // 36 characters of UUID, a dot, 43 of base64url.
    if (token.size() != 36 + 1 + 43 || token[36] != '.') return std::nullopt;
    const auto id = token.substr(0, 36);
    if (!infrastructure::is_uuid_v7(id)) return std::nullopt;
    return std::pair{std::string{id}, std::string{token.substr(37)}};
}

std::optional<SessionRepository::Parsed> SessionRepository::parse(std::string_view refresh_token) const {
    auto parts = split_token(refresh_token);
    if (!parts) return std::nullopt;
    return Parsed{std::move(parts->first),
                  crypto_.keyed_hash(infrastructure::KeyPurpose::tokens, parts->second)};
}

std::string SessionRepository::new_secret(std::string& hash) const {
    auto secret = random_secret();
    hash = crypto_.keyed_hash(infrastructure::KeyPurpose::tokens, secret);
    return secret;
}

Result<SessionRepository::Issued> SessionRepository::open(std::string_view user_id, Clock::time_point now) {
    Issued issued{ids_.next(), std::string{user_id}, {}};
    std::string hash;
    const auto secret = new_secret(hash);
    nlohmann::json session{{"user", user_id},
                           {"token_hash", hash},
                           {"spent_hashes", nlohmann::json::array()},
                           {"revoked", false},
                           {"created_at", domain::format_timestamp(now)},
                           {"refreshed_at", domain::format_timestamp(now)},
                           {"expires_at", domain::unix_seconds(now + refresh_lifetime_)}};
    auto created = documents_.create(kSessions, issued.session_id, std::move(session));
    if (!created) return tl::make_unexpected(created.error());
    issued.refresh_token = issued.session_id + '.' + secret;
    return issued;
}

Result<SessionRepository::Issued> SessionRepository::rotate(std::string_view refresh_token,
                                                            Clock::time_point now) {
    const auto parsed = parse(refresh_token);
    if (!parsed) return fail(Errc::not_found, "malformed refresh token");
    auto session = documents_.find_fresh(kSessions, parsed->session_id);
    if (!session) return tl::make_unexpected(session.error());
    if (is_revoked(*session)) return fail(Errc::not_found, "session revoked");
    if (session->value("expires_at", std::int64_t{0}) <= domain::unix_seconds(now)) {
        return fail(Errc::not_found, "session expired");
    }
    const auto user_id = session->value("user", "");
    const auto current = session->value("token_hash", "");
    if (current != parsed->secret_hash) {
        const auto& spent = (*session)["spent_hashes"];
        const bool was_spent = std::find(spent.begin(), spent.end(), parsed->secret_hash) != spent.end();
        if (!was_spent) return fail(Errc::not_found, "unknown refresh token");
        (void)revoke(parsed->session_id, "refresh token reused");
        return fail(Errc::conflict, "refresh token reused: session " + parsed->session_id + " revoked");
    }

    std::string hash;
    const auto secret = new_secret(hash);
    auto next = *session;
    next.erase("_id");
    next.erase("_rev");
    auto& spent = next["spent_hashes"];
    spent.push_back(current);
    if (spent.size() > kSpentHashesKept) spent.erase(spent.begin());
    next["token_hash"] = hash;
    next["refreshed_at"] = domain::format_timestamp(now);
    next["expires_at"] = domain::unix_seconds(now + refresh_lifetime_);
    const auto rev = session->at("_rev").get<std::uint64_t>();
    auto written = documents_.replace(kSessions, parsed->session_id, std::move(next), rev);
    if (!written) {
        if (written.error().code != Errc::conflict) return tl::make_unexpected(written.error());
        // Another request spent this token first: the same token used twice.
        (void)revoke(parsed->session_id, "refresh token reused concurrently");
        return fail(Errc::conflict, "refresh token spent concurrently: session " +
                                        parsed->session_id + " revoked");
    }
    return Issued{parsed->session_id, user_id, parsed->session_id + '.' + secret};
}

Result<void> SessionRepository::revoke(std::string_view session_id, std::string_view reason) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto session = documents_.find(kSessions, session_id);
        if (!session) return tl::make_unexpected(session.error());
        if (is_revoked(*session)) return {};
        const auto rev = session->at("_rev").get<std::uint64_t>();
        auto next = std::move(*session);
        next.erase("_id");
        next.erase("_rev");
        next["revoked"] = true;
        next["revoked_reason"] = reason;
        auto written = documents_.replace(kSessions, session_id, std::move(next), rev);
        if (written) return {};
        if (written.error().code != Errc::conflict) return tl::make_unexpected(written.error());
    }
    return fail(Errc::unavailable, "could not revoke session " + std::string{session_id});
}

Result<void> SessionRepository::revoke_by_token(std::string_view refresh_token, std::string_view user_id) {
    const auto parsed = parse(refresh_token);
    if (!parsed) return fail(Errc::not_found, "malformed refresh token");
    auto session = documents_.find(kSessions, parsed->session_id);
    if (!session) return tl::make_unexpected(session.error());
    if (session->value("user", "") != user_id) return fail(Errc::not_found, "another user's session");
    const auto& spent = (*session)["spent_hashes"];
    const bool belongs = session->value("token_hash", "") == parsed->secret_hash ||
                         std::find(spent.begin(), spent.end(), parsed->secret_hash) != spent.end();
    if (!belongs) return fail(Errc::not_found, "unknown refresh token");
    return revoke(parsed->session_id, "logout");
}

Result<std::size_t> SessionRepository::revoke_all_of(std::string_view user_id,
                                                     std::string_view keep_session_id) {
    std::vector<std::string> targets;
    auto scanned = documents_.scan(kSessions, "", [&](const std::string& id, const nlohmann::json& body) {
        if (id != keep_session_id && body.value("user", "") == user_id && !is_revoked(body)) {
            targets.push_back(id);
        }
        return true;
    });
    if (!scanned && scanned.error().code != Errc::not_found) return tl::make_unexpected(scanned.error());
    for (const auto& id : targets) {
        if (auto revoked = revoke(id, "password changed"); !revoked) return tl::make_unexpected(revoked.error());
    }
    return targets.size();
}

Result<bool> SessionRepository::is_active(std::string_view session_id, Clock::time_point now) const {
    auto session = documents_.find_fresh(kSessions, session_id);
    if (!session) {
        if (session.error().code == Errc::not_found) return false;
        return tl::make_unexpected(session.error());
    }
    return !is_revoked(*session) &&
           session->value("expires_at", std::int64_t{0}) > domain::unix_seconds(now);
}

Result<std::string> SessionRepository::issue_ticket(std::string_view user_id,
                                                    std::string_view session_id,
                                                    Clock::time_point now,
                                                    std::chrono::seconds lifetime) {
    std::string hash;
    const auto secret = new_secret(hash);
    nlohmann::json ticket{{"user", user_id},
                          {"session", session_id},
                          {"expires_at", domain::unix_seconds(now + lifetime)}};
    auto created = documents_.create(kTickets, hash, std::move(ticket));
    if (!created) return tl::make_unexpected(created.error());
    return secret;
}

Result<SessionRepository::Ticket> SessionRepository::redeem_ticket(std::string_view ticket,
                                                                   Clock::time_point now) {
    if (ticket.size() != 43) return fail(Errc::not_found, "malformed ticket");
    const auto hash = crypto_.keyed_hash(infrastructure::KeyPurpose::tokens, ticket);
    auto stored = documents_.find_fresh(kTickets, hash);
    if (!stored) return tl::make_unexpected(stored.error());
    // Removing it is the spend: of two upgrades racing, one removal wins.
    auto removed = documents_.remove(kTickets, hash, stored->at("_rev").get<std::uint64_t>());
    if (!removed) {
        if (removed.error().code == Errc::conflict) return fail(Errc::not_found, "ticket spent");
        return tl::make_unexpected(removed.error());
    }
    if (stored->value("expires_at", std::int64_t{0}) <= domain::unix_seconds(now)) {
        return fail(Errc::not_found, "ticket expired");
    }
    return Ticket{stored->value("user", ""), stored->value("session", "")};
}

}  // namespace nexu::repositories
