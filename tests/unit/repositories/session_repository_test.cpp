#include "repositories/session_repository.hpp"

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using repositories::DocumentRepository;
using repositories::SessionRepository;

namespace {

const auto kNow = std::chrono::system_clock::now();
constexpr std::chrono::seconds kLifetime{3600};
constexpr std::string_view kUser = "01a20000-0000-7000-8000-0000000000aa";

}  // namespace

TEST_CASE("each refresh spends the token, reuse revokes the family", "[sessions]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    infrastructure::UuidV7Generator ids;
    SessionRepository sessions{documents, *fixture.crypto, ids, kLifetime};

    const auto first = sessions.open(kUser, kNow).value();
    CHECK(first.refresh_token.starts_with(first.session_id + "."));
    CHECK(sessions.is_active(first.session_id, kNow).value());
    const auto second = sessions.rotate(first.refresh_token, kNow).value();
    CHECK(second.session_id == first.session_id);
    CHECK(second.refresh_token != first.refresh_token);
    const auto third = sessions.rotate(second.refresh_token, kNow).value();

    // The spent first token again: the family is revoked, the newest token too.
    CHECK(sessions.rotate(first.refresh_token, kNow).error().code == Errc::conflict);
    CHECK_FALSE(sessions.is_active(first.session_id, kNow).value());
    CHECK(sessions.rotate(third.refresh_token, kNow).error().code == Errc::not_found);

    // Only the hash is stored.
    const auto stored = documents.find("_sessions", first.session_id).value().dump();
    CHECK(stored.find(third.refresh_token.substr(37)) == std::string::npos);
}

TEST_CASE("refresh tokens that are malformed, forged or expired do not refresh", "[sessions]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    infrastructure::UuidV7Generator ids;
    SessionRepository sessions{documents, *fixture.crypto, ids, kLifetime};
    const auto issued = sessions.open(kUser, kNow).value();
    auto forged = issued.refresh_token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    for (const auto& bad : {std::string{}, std::string{"x.y"}, forged, issued.session_id}) {
        CHECK(sessions.rotate(bad, kNow).error().code == Errc::not_found);
    }
    CHECK(sessions.is_active(issued.session_id, kNow).value());  // a forgery revokes nothing
    CHECK(sessions.rotate(issued.refresh_token, kNow + kLifetime + std::chrono::seconds{1})
              .error()
              .code == Errc::not_found);
}

TEST_CASE("two store instances racing on one refresh token: exactly one wins", "[sessions]") {
    testing::StoreFixture fixture;
    auto store_a = fixture.open_or_throw(testing::test_settings(), 0);
    auto store_b = fixture.open_or_throw(testing::test_settings(), 1);
    DocumentRepository documents_a{*store_a};
    DocumentRepository documents_b{*store_b};
    infrastructure::UuidV7Generator ids;
    SessionRepository sessions_a{documents_a, *fixture.crypto, ids, kLifetime};
    SessionRepository sessions_b{documents_b, *fixture.crypto, ids, kLifetime};

    for (int trial = 0; trial < 20; ++trial) {
        const auto issued = sessions_a.open(kUser, kNow).value();
        std::atomic<int> wins{0};
        std::atomic<int> go{0};
        auto race = [&](SessionRepository& sessions) {
            go.fetch_add(1);
            while (go.load() < 2) {
            }
            if (sessions.rotate(issued.refresh_token, kNow)) wins.fetch_add(1);
        };
        std::thread a{[&] { race(sessions_a); }};
        std::thread b{[&] { race(sessions_b); }};
        a.join();
        b.join();
        INFO("trial " << trial);
        CHECK(wins.load() == 1);
    }
}

TEST_CASE("a WebSocket ticket is spent once and expires", "[sessions]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    DocumentRepository documents{*store};
    infrastructure::UuidV7Generator ids;
    SessionRepository sessions{documents, *fixture.crypto, ids, kLifetime};
    const auto ticket = sessions.issue_ticket(kUser, "sid", kNow, std::chrono::seconds{60}).value();
    const auto redeemed = sessions.redeem_ticket(ticket, kNow).value();
    CHECK(redeemed.user_id == kUser);
    CHECK(redeemed.session_id == "sid");
    CHECK(sessions.redeem_ticket(ticket, kNow).error().code == Errc::not_found);
    const auto late = sessions.issue_ticket(kUser, "sid", kNow, std::chrono::seconds{60}).value();
    CHECK(sessions.redeem_ticket(late, kNow + std::chrono::seconds{61}).error().code == Errc::not_found);
}
