#include "sockets/room_registry.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace nexu;
using nexu::repositories::ChatMessage;
using nexu::repositories::ChatUser;
using nexu::sockets::Frame;
using nexu::sockets::RoomRegistry;

namespace {

constexpr std::string_view kRoom = "0190b0a0-0000-7000-8000-0000000000aa";

// Records what the registry delivers, as a session would see it.
class Recorder final : public sockets::ChatRecipient {
public:
    Recorder(ChatUser user, std::string origin)
        : user_(std::move(user)), origin_(std::move(origin)) {}
    void deliver_message(const std::string&, std::uint64_t seq, Frame frame) override {
        std::lock_guard lock{mutex_};
        seqs_.push_back(seq);
        CHECK(nlohmann::json::parse(*frame)["seq"] == seq);
    }
    void deliver_event(Frame frame) override {
        std::lock_guard lock{mutex_};
        events_.push_back(nlohmann::json::parse(*frame));
    }
    const ChatUser& user() const override { return user_; }
    const std::string& origin() const override { return origin_; }
    std::vector<std::uint64_t> seqs() const {
        std::lock_guard lock{mutex_};
        return seqs_;
    }
    std::vector<nlohmann::json> events() const {
        std::lock_guard lock{mutex_};
        return events_;
    }

private:
    ChatUser user_;
    std::string origin_;
    mutable std::mutex mutex_;
    std::vector<std::uint64_t> seqs_;
    std::vector<nlohmann::json> events_;
};

ChatMessage message(std::uint64_t seq, std::string origin = {}) {
    ChatMessage m;
    m.id = "id" + std::to_string(seq);
    m.room = std::string{kRoom};
    m.seq = seq;
    m.from = {"u1", "alice"};
    m.text = "t";
    m.ts = "2026-11-23T15:00:00.000Z";
    m.origin = std::move(origin);
    return m;
}

std::vector<std::uint64_t> one_to(std::uint64_t n) {
    std::vector<std::uint64_t> all(n);
    for (std::uint64_t i = 0; i < n; ++i) all[i] = i + 1;
    return all;
}

}  // namespace

TEST_CASE("messages are delivered once each in seq order whatever order they commit in",
          "[registry]") {
    RoomRegistry registry;
    auto bob = std::make_shared<Recorder>(ChatUser{"u2", "bob"}, "i:2");
    auto joined = registry.join(kRoom, bob, 3);  // seqs 1-3 were there before the join
    CHECK(joined.delivered == 3);
    CHECK(joined.is_first_of_user);

    CHECK_FALSE(registry.committed(message(2)));  // before the join: not delivered again
    CHECK(registry.committed(message(5)));        // waits for 4
    CHECK(bob->seqs().empty());
    CHECK_FALSE(registry.committed(message(4)));
    CHECK(bob->seqs() == std::vector<std::uint64_t>{4, 5});
    CHECK_FALSE(registry.committed(message(5)));  // the tailer finding it again
    CHECK(bob->seqs() == std::vector<std::uint64_t>{4, 5});
    CHECK(registry.cursors().at(0).delivered == 5);
}

TEST_CASE("concurrent committers in random order still give every recipient 1..n", "[registry]") {
    RoomRegistry registry;
    auto bob = std::make_shared<Recorder>(ChatUser{"u2", "bob"}, "i:2");
    auto carol = std::make_shared<Recorder>(ChatUser{"u3", "carol"}, "i:3");
    registry.join(kRoom, bob, 0);
    registry.join(kRoom, carol, 0);
    constexpr std::uint64_t kCount = 2000;
    std::vector<std::uint64_t> order = one_to(kCount);
    std::shuffle(order.begin(), order.end(), std::mt19937_64{42});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (std::size_t i = static_cast<std::size_t>(t); i < order.size(); i += 4) {
                registry.committed(message(order[i]));
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(bob->seqs() == one_to(kCount));
    CHECK(carol->seqs() == one_to(kCount));
}

TEST_CASE("the sending connection gets no copy of its own message", "[registry]") {
    RoomRegistry registry;
    auto alice = std::make_shared<Recorder>(ChatUser{"u1", "alice"}, "i:1");
    auto alice_phone = std::make_shared<Recorder>(ChatUser{"u1", "alice"}, "i:9");
    registry.join(kRoom, alice, 0);
    registry.join(kRoom, alice_phone, 0);
    registry.committed(message(1, "i:1"));
    registry.committed(message(2));  // a REST post: everyone
    CHECK(alice->seqs() == std::vector<std::uint64_t>{2});
    CHECK(alice_phone->seqs() == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("presence counts a user's connections and the room is forgotten with the last",
          "[registry]") {
    RoomRegistry registry;
    auto alice = std::make_shared<Recorder>(ChatUser{"u1", "alice"}, "i:1");
    auto alice_phone = std::make_shared<Recorder>(ChatUser{"u1", "alice"}, "i:9");
    auto bob = std::make_shared<Recorder>(ChatUser{"u2", "bob"}, "i:2");
    CHECK(registry.join(kRoom, alice, 0).is_first_of_user);
    CHECK_FALSE(registry.join(kRoom, alice_phone, 0).is_first_of_user);
    CHECK_FALSE(registry.join(kRoom, alice, 0).is_first_of_user);  // joining again: no change
    auto joined = registry.join(kRoom, bob, 0);
    CHECK(joined.online.size() == 2);

    registry.broadcast(kRoom, std::make_shared<const std::string>("{\"type\":\"typing\"}"),
                       bob.get());
    CHECK(alice->events().size() == 1);
    CHECK(bob->events().empty());

    CHECK_FALSE(registry.leave(kRoom, *alice));
    CHECK(registry.leave(kRoom, *alice_phone));  // alice's last connection
    CHECK_FALSE(registry.leave(kRoom, *alice_phone));
    CHECK(registry.room_count() == 1);
    CHECK(registry.leave(kRoom, *bob));
    CHECK(registry.room_count() == 0);
    CHECK_FALSE(registry.committed(message(1)));  // nobody here: nothing to do
}

TEST_CASE("a recipient that is gone is skipped", "[registry]") {
    RoomRegistry registry;
    auto bob = std::make_shared<Recorder>(ChatUser{"u2", "bob"}, "i:2");
    auto carol = std::make_shared<Recorder>(ChatUser{"u3", "carol"}, "i:3");
    registry.join(kRoom, bob, 0);
    registry.join(kRoom, carol, 0);
    carol.reset();
    registry.committed(message(1));
    CHECK(bob->seqs() == std::vector<std::uint64_t>{1});
}
