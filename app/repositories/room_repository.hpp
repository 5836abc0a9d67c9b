#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "infrastructure/store.hpp"
#include "infrastructure/uuid_v7.hpp"

namespace nexu::repositories {

// A user as chat shows it: in a room's members, a message's `from`, presence.
struct ChatUser {
    std::string id;
    std::string username;
};

struct Room {
    std::string id;  // UUIDv7
    std::string name;
    bool is_private = false;
    std::vector<ChatUser> members;
    std::string creator;     // user id
    std::string created_at;  // RFC 3339 UTC with milliseconds
    std::uint64_t rev = 0;   // the store revision, for compare-and-set member changes

    bool has_member(std::string_view user_id) const;
    // What the API shows: {"id","name","private","members","created_at"} (+ "creator").
    nlohmann::json to_json() const;
};

// Chat rooms in the system collection `_rooms`, one encrypted document per
// room keyed by its id. Member changes are read-modify-write with the
// document's revision as compare-and-set (retried a few times when another
// instance changed the room first), so concurrent joins on several instances
// never lose a member.
//
// Thread-safe (the store is); calls block on disk: call them from worker
// threads. Errors: not_found (no such room, or a malformed id),
// invalid_argument (name), unavailable (too many lost races), store errors.
class RoomRepository {
public:
    static constexpr std::string_view kCollection = "_rooms";
    static constexpr std::size_t kMaxNameChars = 100;

    RoomRepository(infrastructure::Store& store, infrastructure::UuidV7Generator& ids);

    // `members` need not contain the creator: the creator is always a member.
    Result<Room> create(std::string_view name,
                        bool is_private,
                        const ChatUser& creator,
                        const std::vector<ChatUser>& members);
    Result<Room> find(std::string_view room_id) const;
    // Rooms `user_id` belongs to plus every public room (every room for an
    // admin), in id (creation) order.
    Result<std::vector<Room>> list_visible(std::string_view user_id, bool is_admin) const;
    // Idempotent: adding a member already there returns the room unchanged.
    Result<Room> add_member(std::string_view room_id, const ChatUser& member);
    // Idempotent as well; Errc::not_found only when the room is missing.
    Result<Room> remove_member(std::string_view room_id, std::string_view user_id);

    // RFC 3339 UTC with milliseconds, e.g. 2026-11-23T15:20:03.052Z.
    static std::string now_timestamp();

private:
    template <class Change>
    Result<Room> update(std::string_view room_id, Change change);
    Result<void> save(const Room& room, std::uint64_t expected_rev, std::uint64_t& new_rev);

    infrastructure::Store& store_;
    infrastructure::UuidV7Generator& ids_;
};

}  // namespace nexu::repositories
