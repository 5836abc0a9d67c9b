#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "repositories/room_repository.hpp"
#include "sockets/chat_frames.hpp"

namespace nexu::sockets {

// Consecutive stored messages of one room, in seq order, fanned out
// together: built once and shared by every recipient (one post each).
struct MessageBatch {
    struct Entry {
        std::uint64_t seq = 0;
        Frame frame;
        std::string origin;  // the sending connection's origin ("" for REST)
    };
    std::string room;
    std::vector<Entry> messages;
};

// What the room registry delivers to: a joined connection (ChatSession), or
// a recorder in tests. Implementations must accept calls from any thread and
// keep the order of calls made from one thread.
class ChatRecipient {
public:
    virtual ~ChatRecipient() = default;
    // A stored message of `room`, in seq order.
    virtual void deliver_message(const std::string& room, std::uint64_t seq, Frame frame) = 0;
    // Several of them at once, skipping those this recipient sent (it gets
    // their acks). The default calls deliver_message for each.
    virtual void deliver_messages(const std::shared_ptr<const MessageBatch>& batch) {
        for (const auto& entry : batch->messages) {
            if (entry.origin.empty() || entry.origin != origin())
                deliver_message(batch->room, entry.seq, entry.frame);
        }
    }
    // An event that is not stored (presence, typing).
    virtual void deliver_event(Frame frame) = 0;
    virtual const repositories::ChatUser& user() const = 0;
    // The connection's unique name; messages it sent carry it and skip it.
    virtual const std::string& origin() const = 0;
};

}  // namespace nexu::sockets
