#include "sockets/chat_frames.hpp"

#include <nlohmann/json.hpp>

namespace nexu::sockets {

namespace {

using Json = nlohmann::json;

Frame share(const Json& json) {
    return std::make_shared<const std::string>(json.dump());
}

Json user_json(const repositories::ChatUser& user) {
    return Json{{"id", user.id}, {"username", user.username}};
}

}  // namespace

Frame error_frame(std::string_view code, std::string_view message, std::string_view ref) {
    Json json{{"type", "error"}, {"code", code}, {"message", message}};
    if (!ref.empty()) json["ref"] = ref;
    return share(json);
}

Frame message_frame(const repositories::ChatMessage& message) {
    auto json = message.to_json();
    json["type"] = "message";
    return share(json);
}

Frame ack_frame(std::string_view client_id, const repositories::ChatMessage& message) {
    return share(Json{{"type", "ack"},
                      {"client_id", client_id},
                      {"id", message.id},
                      {"seq", message.seq},
                      {"ts", message.ts}});
}

Frame joined_frame(std::string_view room, const std::vector<repositories::ChatUser>& online) {
    Json users = Json::array();
    for (const auto& user : online) users.push_back(user_json(user));
    return share(Json{{"type", "joined"}, {"room", room}, {"online", std::move(users)}});
}

Frame left_frame(std::string_view room) {
    return share(Json{{"type", "left"}, {"room", room}});
}

Frame presence_frame(std::string_view room, const repositories::ChatUser& user, bool is_online) {
    return share(Json{{"type", "presence"},
                      {"room", room},
                      {"user", user_json(user)},
                      {"status", is_online ? "online" : "offline"}});
}

Frame typing_frame(std::string_view room, const repositories::ChatUser& user) {
    return share(Json{{"type", "typing"}, {"room", room}, {"user", user_json(user)}});
}

Frame history_frame(std::string_view room, const std::vector<repositories::ChatMessage>& messages) {
    Json list = Json::array();
    for (const auto& message : messages) list.push_back(message.to_json());
    return share(Json{{"type", "history"}, {"room", room}, {"messages", std::move(list)}});
}

Frame pong_frame() {
    static const Frame kPong = share(Json{{"type", "pong"}});
    return kPong;
}

}  // namespace nexu::sockets
