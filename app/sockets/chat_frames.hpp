#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "repositories/message_repository.hpp"
#include "repositories/room_repository.hpp"

namespace nexu::sockets {

// An outgoing text frame: serialised once, shared by every recipient, never modified.
using Frame = std::shared_ptr<const std::string>;

// The server-to-client frames of API.md "Chat over WebSocket".
Frame error_frame(std::string_view code, std::string_view message, std::string_view ref = {});
Frame message_frame(const repositories::ChatMessage& message);
Frame ack_frame(std::string_view client_id, const repositories::ChatMessage& message);
Frame joined_frame(std::string_view room, const std::vector<repositories::ChatUser>& online);
Frame left_frame(std::string_view room);
Frame presence_frame(std::string_view room, const repositories::ChatUser& user, bool is_online);
Frame typing_frame(std::string_view room, const repositories::ChatUser& user);
Frame history_frame(std::string_view room, const std::vector<repositories::ChatMessage>& messages);
Frame pong_frame();

}  // namespace nexu::sockets
