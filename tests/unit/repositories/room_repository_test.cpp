#include "repositories/room_repository.hpp"

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using nexu::repositories::ChatUser;
using nexu::repositories::RoomRepository;

namespace {
const ChatUser kAlice{"0190b0a0-0000-7000-8000-00000000000a", "alice"};
const ChatUser kBob{"0190b0a0-0000-7000-8000-00000000000b", "bob"};
const ChatUser kCarol{"0190b0a0-0000-7000-8000-00000000000c", "carol"};
}  // namespace

TEST_CASE("a created room has a UUIDv7 id and its creator among the members", "[rooms]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    infrastructure::UuidV7Generator ids;
    RoomRepository rooms{*store, ids};

    auto room = rooms.create("general", false, kAlice, {kBob, kAlice}).value();
    CHECK(infrastructure::is_uuid_v7(room.id));
    REQUIRE(room.members.size() == 2);
    CHECK(room.members[0].username == "alice");
    CHECK(room.has_member(kBob.id));
    CHECK(room.created_at.ends_with("Z"));
    CHECK(room.created_at.size() == 24);

    auto found = rooms.find(room.id).value();
    CHECK(found.name == "general");
    CHECK(found.to_json() == room.to_json());
    CHECK(rooms.find("not-a-uuid").error().code == Errc::not_found);
    CHECK(rooms.create("", false, kAlice, {}).error().code == Errc::invalid_argument);
    CHECK(rooms.create(std::string(101, 'x'), false, kAlice, {}).error().code ==
          Errc::invalid_argument);
}

TEST_CASE("private rooms are listed only to members and admins", "[rooms]") {
    testing::StoreFixture fixture;
    auto store = fixture.open_or_throw();
    infrastructure::UuidV7Generator ids;
    RoomRepository rooms{*store, ids};
    auto open_room = rooms.create("open", false, kAlice, {}).value();
    auto secret = rooms.create("secret", true, kAlice, {kBob}).value();

    auto for_carol = rooms.list_visible(kCarol.id, false).value();
    REQUIRE(for_carol.size() == 1);
    CHECK(for_carol[0].id == open_room.id);
    CHECK(rooms.list_visible(kBob.id, false).value().size() == 2);
    CHECK(rooms.list_visible(kCarol.id, true).value().size() == 2);
    CHECK(rooms.list_visible(kBob.id, false).value()[1].id == secret.id);
}

TEST_CASE("member changes are idempotent and survive a concurrent change elsewhere", "[rooms]") {
    testing::StoreFixture fixture;
    auto a = fixture.open_or_throw();
    auto b = fixture.open_or_throw(testing::test_settings(), 1);
    infrastructure::UuidV7Generator ids;
    RoomRepository on_a{*a, ids};
    RoomRepository on_b{*b, ids};
    auto room = on_a.create("r", true, kAlice, {}).value();

    // b's view is stale after a's change; its compare-and-set retries and keeps both.
    REQUIRE(on_b.find(room.id));
    REQUIRE(on_a.add_member(room.id, kBob));
    auto both = on_b.add_member(room.id, kCarol).value();
    CHECK(both.members.size() == 3);
    CHECK(on_a.add_member(room.id, kCarol).value().rev == both.rev);  // already there

    auto removed = on_a.remove_member(room.id, kBob.id).value();
    CHECK_FALSE(removed.has_member(kBob.id));
    CHECK(on_a.remove_member(room.id, kBob.id).value().rev == removed.rev);
    CHECK(on_a.add_member("0190b0a0-0000-7000-8000-0000000000ff", kBob).error().code ==
          Errc::not_found);
}
