#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "repositories/message_repository.hpp"
#include "sockets/chat_frames.hpp"
#include "sockets/chat_recipient.hpp"

namespace nexu::sockets {

// The rooms this instance has joined connections in, and for each the seq
// delivered so far. Every committed message, whether this instance stored
// it (committed() from a worker), another instance did (found by tailing
// the room log) or a REST post did, goes through committed(), which fans out
// strictly in seq order: a message past the next expected seq waits in a
// small reorder buffer until the gap is filled (by a slower local worker or
// by the tailer), and one at or below the cursor is a duplicate and dropped.
// So each joined connection sees every message once, in order, no gap.
//
// Thread-safe. Deliveries are posted to the sessions' strands while the
// room's mutex is held (a post only queues): posting after releasing it
// could let two threads reorder consecutive seqs on the way to a strand.
class RoomRegistry {
public:
    struct Joined {
        std::uint64_t delivered = 0;  // live delivery to the joiner starts after this seq
        std::vector<repositories::ChatUser> online;
        bool is_first_of_user = false;  // the user's first connection in the room here
    };
    struct Cursor {
        std::string room;
        std::uint64_t delivered = 0;
    };

    // Adds `session` to the room (again: no change). `current_seq` starts the
    // room's cursor when it is new here.
    Joined join(std::string_view room,
                const std::shared_ptr<ChatRecipient>& session,
                std::uint64_t current_seq);
    // Removes the session; true when it was the user's last connection in the
    // room here. The room is forgotten with its last connection.
    bool leave(std::string_view room, const ChatRecipient& session);

    // A committed message, from any thread, in any order. True when it waits
    // behind a gap (the tailer should look at the log now).
    bool committed(const repositories::ChatMessage& message);
    // committed() for several messages of one room (any order): the ones
    // that are next in seq order reach each connection in one delivery.
    bool committed_many(const std::vector<repositories::ChatMessage>& messages);
    // An event that is not stored (presence, typing) to every joined
    // connection but `except`.
    void broadcast(std::string_view room, const Frame& frame, const ChatRecipient* except);

    // Whether `user_id` has a connection joined to `room` here.
    bool has_user(std::string_view room, const std::string& user_id) const;
    // The rooms with joined connections and their cursors, for the tailer.
    std::vector<Cursor> cursors() const;
    std::size_t room_count() const;

    // Messages held for a gap before the tailer is left to fill it from the log.
    static constexpr std::size_t kMaxReorder = 4096;

private:
    struct Member {
        std::weak_ptr<ChatRecipient> session;
        const ChatRecipient* key = nullptr;
        std::string user_id;
        std::string origin;
    };
    struct RoomState {
        std::mutex mutex;
        std::vector<Member> members;
        std::map<std::string, std::pair<repositories::ChatUser, std::size_t>> users;  // id → count
        std::uint64_t delivered = 0;
        std::map<std::uint64_t, repositories::ChatMessage> reorder;
    };
    std::shared_ptr<RoomState> find(std::string_view room) const;
    // Moves the cursor past `message` and adds it to `batch`.
    static void take(RoomState& state, const repositories::ChatMessage& message, MessageBatch& batch);
    static void fan_out(RoomState& state, std::shared_ptr<const MessageBatch> batch);

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<RoomState>> rooms_;
};

}  // namespace nexu::sockets
