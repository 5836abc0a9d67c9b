#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "domain/error.hpp"
#include "repositories/message_repository.hpp"
#include "repositories/room_repository.hpp"

namespace nexu::api {

// What the chat routes need besides the repositories, wired by main.
struct ChatRouteHooks {
    // The username of a user id; Errc::not_found when there is no such user.
    std::function<Result<std::string>(std::string_view user_id)> find_username;
    // A message stored by a REST post: deliver it to the WebSocket members
    // (main hands it to the chat hub; the api layer does not know sockets).
    std::function<void(const repositories::ChatMessage& message)> delivered;
};

// "Chat over REST" of API.md: rooms list/create, members add/remove,
// messages list/post. Handlers run on the worker pool (they read and write
// the store). The repositories and hooks must outlive the router.
void add_chat_routes(Router& router,
                     repositories::RoomRepository& rooms,
                     repositories::MessageRepository& messages,
                     ChatRouteHooks hooks);

}  // namespace nexu::api
