#include "repositories/message_repository.hpp"

#include <thread>

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using nexu::repositories::ChatUser;
using nexu::repositories::MessageRepository;
using Json = nlohmann::json;

namespace {
const ChatUser kAlice{"0190b0a0-0000-7000-8000-00000000000a", "alice"};
const ChatUser kBob{"0190b0a0-0000-7000-8000-00000000000b", "bob"};
constexpr std::string_view kRoom = "0190b0a0-0000-7000-8000-0000000000aa";

std::vector<std::uint64_t> seqs_of(const std::vector<repositories::ChatMessage>& messages) {
    std::vector<std::uint64_t> seqs;
    for (const auto& message : messages) seqs.push_back(message.seq);
    return seqs;
}
}  // namespace

TEST_CASE("messages get gap-free seqs and page by after and before", "[messages]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    infrastructure::UuidV7Generator ids;
    MessageRepository messages{*store, ids};
    CHECK(messages.sequence(kRoom).value() == 0);
    CHECK(messages.before(kRoom, 0, 50).value().empty());
    for (std::uint64_t i = 1; i <= 10; ++i) {
        auto posted = messages.post(kRoom, kAlice, testing::numbered("m", i), "").value();
        CHECK(posted.message.seq == i);
        CHECK_FALSE(posted.is_duplicate);
    }
    CHECK(MessageRepository::log_collection(kRoom).size() <= 64);
    CHECK(seqs_of(messages.after(kRoom, 7, 50).value()) == std::vector<std::uint64_t>{8, 9, 10});
    CHECK(seqs_of(messages.after(kRoom, 0, 2).value()) == std::vector<std::uint64_t>{1, 2});
    CHECK(seqs_of(messages.before(kRoom, 5, 2).value()) == std::vector<std::uint64_t>{3, 4});
    CHECK(seqs_of(messages.before(kRoom, 3, 50).value()) == std::vector<std::uint64_t>{1, 2});
    CHECK(seqs_of(messages.before(kRoom, 0, 3).value()) == std::vector<std::uint64_t>{8, 9, 10});
    CHECK(seqs_of(messages.before(kRoom, 8, 50, 5).value()) == std::vector<std::uint64_t>{6, 7});
    CHECK(messages.before(kRoom, 1, 50).value().empty());

    auto json = messages.after(kRoom, 0, 1).value()[0].to_json();
    CHECK(json["text"] == "m1");
    CHECK(json["room"] == std::string{kRoom});
    CHECK(json["from"] == Json{{"id", kAlice.id}, {"username", "alice"}});
    CHECK_FALSE(json.contains("origin"));
}

TEST_CASE("texts are 1 to 4000 code points and rooms are UUIDs", "[messages]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    infrastructure::UuidV7Generator ids;
    MessageRepository messages{*store, ids};
    CHECK(messages.post(kRoom, kAlice, "", "").error().code == Errc::invalid_argument);
    CHECK(messages.post(kRoom, kAlice, std::string(4001, 'x'), "").error().code ==
          Errc::invalid_argument);
    std::string snowmen;
    for (int i = 0; i < 4000; ++i) snowmen += "\u2603";  // 3 bytes each, 4000 code points
    CHECK(messages.post(kRoom, kAlice, snowmen, "").value().message.seq == 1);
    CHECK(messages.post("../etc", kAlice, "x", "").error().code == Errc::not_found);
    CHECK(messages.post(kRoom, kAlice, "x", std::string(129, 'c')).error().code ==
          Errc::invalid_argument);
    CHECK(messages.sequence(kRoom).value() == 1);
}

TEST_CASE("a client_id resend is acked with the first message, also on another instance",
          "[messages]") {
    testing::StoreFixture fixture;
    auto a = fixture.open_or_throw();
    auto b = fixture.open_or_throw(testing::test_settings(), 1);
    infrastructure::UuidV7Generator ids;
    MessageRepository on_a{*a, ids};
    MessageRepository on_b{*b, ids};

    auto first = on_a.post(kRoom, kAlice, "hello", "c-1", "conn-1").value();
    // Before finalize() the resend finds the message in the log; after it, by its seq.
    auto found_in_log = on_a.post(kRoom, kAlice, "hello", "c-1").value();
    CHECK(found_in_log.is_duplicate);
    CHECK(found_in_log.message.id == first.message.id);
    on_a.finalize(first);
    auto again = on_a.post(kRoom, kAlice, "hello", "c-1").value();
    auto elsewhere = on_b.post(kRoom, kAlice, "hello (edited)", "c-1").value();
    CHECK(again.is_duplicate);
    CHECK(elsewhere.is_duplicate);
    CHECK(again.message.id == first.message.id);
    CHECK(elsewhere.message.seq == first.message.seq);
    CHECK(elsewhere.message.text == "hello");
    // Another user's identical client_id is a different message.
    CHECK(on_b.post(kRoom, kBob, "hi", "c-1").value().message.seq == 2);
    CHECK(on_a.sequence(kRoom).value() == 2);
    CHECK(on_a.after(kRoom, 0, 10).value()[0].origin == "conn-1");
}

TEST_CASE("concurrent sends of one client_id on two instances store one message", "[messages]") {
    testing::StoreFixture fixture;
    auto a = fixture.open_or_throw();
    auto b = fixture.open_or_throw(testing::test_settings(), 1);
    infrastructure::UuidV7Generator ids;
    MessageRepository on_a{*a, ids};
    MessageRepository on_b{*b, ids};
    for (int round = 0; round < 10; ++round) {
        const auto client_id = testing::numbered("race-", static_cast<std::uint64_t>(round));
        Result<repositories::PostedMessage> left = fail(Errc::io_error);
        Result<repositories::PostedMessage> right = fail(Errc::io_error);
        std::thread t1{[&] { left = on_a.post(kRoom, kAlice, "x", client_id); }};
        std::thread t2{[&] { right = on_b.post(kRoom, kAlice, "x", client_id); }};
        t1.join();
        t2.join();
        REQUIRE(left);
        REQUIRE(right);
        CHECK(left->message.id == right->message.id);
        CHECK(left->is_duplicate != right->is_duplicate);
    }
    CHECK(on_a.sequence(kRoom).value() == 10);
}

TEST_CASE("a resend after a crash between the append and the finalising write finds the message",
          "[messages]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    infrastructure::UuidV7Generator ids;
    MessageRepository messages{*store, ids};
    REQUIRE(messages.post(kRoom, kBob, "unrelated", ""));
    // What a crash after the append leaves: a pending reservation and the message in the log.
    const std::string key = kAlice.id + "." + "6331";  // hex of "c1"
    const auto message_id = ids.next();
    REQUIRE(store->put(MessageRepository::keys_collection(kRoom), key,
                       Json{{"state", "pending"},
                            {"message_id", message_id},
                            {"after_seq", 1},
                            {"reserved_at_ms", 0}}
                           .dump(),
                       std::uint64_t{0}));
    REQUIRE(store->append(MessageRepository::log_collection(kRoom),
                          Json{{"id", message_id},
                               {"from", {{"id", kAlice.id}, {"username", "alice"}}},
                               {"text", "stored before the crash"},
                               {"ts", "2026-11-23T15:00:00.000Z"}}
                              .dump()));
    auto resent = messages.post(kRoom, kAlice, "stored before the crash", "c1").value();
    CHECK(resent.is_duplicate);
    CHECK(resent.message.id == message_id);
    CHECK(resent.message.seq == 2);
    CHECK(messages.sequence(kRoom).value() == 2);
    // Finalised: the next resend reads the seq from the dedupe document.
    auto stored = store->get(MessageRepository::keys_collection(kRoom), key).value();
    CHECK(Json::parse(*stored.body)["state"] == "committed");
}

TEST_CASE("a resend after a crash before the append takes the reservation over after the lease",
          "[messages]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    infrastructure::UuidV7Generator ids;
    MessageRepository messages{*store, ids, std::chrono::milliseconds{200}};
    const std::string key = kAlice.id + "." + "6332";  // hex of "c2"
    const auto reserved_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    REQUIRE(store->put(MessageRepository::keys_collection(kRoom), key,
                       Json{{"state", "pending"},
                            {"message_id", ids.next()},
                            {"after_seq", 0},
                            {"reserved_at_ms", reserved_at}}
                           .dump(),
                       std::uint64_t{0}));
    const auto started = std::chrono::steady_clock::now();
    auto resent = messages.post(kRoom, kAlice, "retry", "c2").value();
    CHECK_FALSE(resent.is_duplicate);
    CHECK(resent.message.seq == 1);
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds{150});
    auto again = messages.post(kRoom, kAlice, "retry", "c2").value();
    CHECK(again.is_duplicate);
    CHECK(again.message.id == resent.message.id);
    CHECK(messages.sequence(kRoom).value() == 1);
}

TEST_CASE("a reservation older than half the lease is renewed before the append", "[messages]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    infrastructure::UuidV7Generator ids;
    MessageRepository messages{*store, ids, std::chrono::milliseconds{200}};
    auto prepared = messages.prepare(kRoom, kAlice, "late", "c3").value();
    std::this_thread::sleep_for(std::chrono::milliseconds{150});
    auto posted = messages.complete(kRoom, kAlice, "late", "", prepared).value();
    CHECK(posted.message.seq == 1);
    CHECK(posted.reservation_rev == 2);  // renewed once
    auto again = messages.post(kRoom, kAlice, "late", "c3").value();
    CHECK(again.is_duplicate);
    CHECK(again.message.id == posted.message.id);
    CHECK(messages.sequence(kRoom).value() == 1);
}
