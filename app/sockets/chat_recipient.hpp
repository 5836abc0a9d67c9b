#pragma once

#include <cstdint>
#include <string>

#include "repositories/room_repository.hpp"
#include "sockets/chat_frames.hpp"

namespace nexu::sockets {

// What the room registry delivers to: a joined connection (ChatSession), or
// a recorder in tests. Implementations must accept calls from any thread and
// keep the order of calls made from one thread.
class ChatRecipient {
public:
    virtual ~ChatRecipient() = default;
    // A stored message of `room`, in seq order.
    virtual void deliver_message(const std::string& room, std::uint64_t seq, Frame frame) = 0;
    // An event that is not stored (presence, typing).
    virtual void deliver_event(Frame frame) = 0;
    virtual const repositories::ChatUser& user() const = 0;
    // The connection's unique name; messages it sent carry it and skip it.
    virtual const std::string& origin() const = 0;
};

}  // namespace nexu::sockets
