#include "api/chat_routes.hpp"

#include <charconv>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/data_http.hpp"
#include "api/json_request.hpp"
#include "api/problem.hpp"

namespace nexu::api {

namespace {

using Json = nlohmann::json;
using repositories::ChatUser;
using repositories::Room;

constexpr std::size_t kDefaultPage = 50;
constexpr std::size_t kMaxPage = 1000;
constexpr std::size_t kMaxInitialMembers = 1000;

Response unprocessable(std::string field, std::string message) {
    return problem(http::status::unprocessable_entity, "validation", "Unprocessable Content",
                   "The request breaks a rule.", {{std::move(field), std::move(message)}});
}

Response bad_parameter(std::string_view name) {
    std::string detail{"The query parameter "};
    detail += name;
    detail += " must be a non-negative integer.";
    return problem(http::status::bad_request, "bad-request", "Bad Request", detail);
}

// A query parameter that must be a non-negative integer when present.
bool seq_param(const Request& request, std::string_view name, std::optional<std::uint64_t>& out) {
    std::string text;
    if (!query_param(request.message.target(), name, text)) return true;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return false;
    out = value;
    return true;
}

ChatUser caller(const Request& request) {
    return {request.principal.user_id, request.principal.username};
}

// The room if the caller may see it (members, admins, anyone for a public
// room); a private room is not found for everyone else.
Result<Room> visible_room(repositories::RoomRepository& rooms, const Request& request) {
    auto room = rooms.find(request.param("id"));
    if (!room) return room;
    const auto& principal = request.principal;
    if (room->is_private && !principal.is_admin() && !room->has_member(principal.user_id)) {
        return fail(Errc::not_found, "private room");
    }
    return room;
}

Response room_response(http::status status, const Room& room) {
    return json_response(status, room.to_json().dump());
}

}  // namespace

void add_chat_routes(Router& router,
                     repositories::RoomRepository& rooms,
                     repositories::MessageRepository& messages,
                     ChatRouteHooks hooks) {
    auto shared_hooks = std::make_shared<const ChatRouteHooks>(std::move(hooks));

    router.add(http::verb::get, "/api/v1/chat/rooms", [&rooms](const Request& request) {
        if (!request.principal.is_authenticated()) return unauthorized();
        auto list = rooms.list_visible(request.principal.user_id, request.principal.is_admin());
        if (!list) return problem_for(list.error(), request.request_id);
        Json items = Json::array();
        for (const auto& room : *list) items.push_back(room.to_json());
        return json_response(http::status::ok, Json{{"items", std::move(items)}}.dump());
    });

    router.add(
        http::verb::post, "/api/v1/chat/rooms", [&rooms, shared_hooks](const Request& request) {
            const auto& principal = request.principal;
            if (!principal.is_authenticated()) return unauthorized();
            if (!principal.is_admin() && !principal.permissions.allows("chat:rooms:create")) {
                return forbidden("Creating rooms needs the chat:rooms:create permission.");
            }
            auto body = read_json_body(request);
            if (!body) return std::move(body.error());
            if (!body->is_object()) return unprocessable("", "the body must be an object");
            const auto name = body->find("name");
            if (name == body->end() || !name->is_string()) {
                return unprocessable("name", "a string of 1-100 characters is required");
            }
            bool is_private = false;
            if (const auto flag = body->find("private"); flag != body->end()) {
                if (!flag->is_boolean()) return unprocessable("private", "must be a boolean");
                is_private = flag->get<bool>();
            }
            std::vector<ChatUser> members;
            if (const auto list = body->find("members"); list != body->end()) {
                if (!list->is_array() || list->size() > kMaxInitialMembers) {
                    return unprocessable("members", "must be a list of user ids");
                }
                for (const auto& id : *list) {
                    if (!id.is_string()) {
                        return unprocessable("members", "must be a list of user ids");
                    }
                    const auto& user_id = id.get_ref<const std::string&>();
                    if (user_id == principal.user_id) continue;
                    auto username = shared_hooks->find_username
                                        ? shared_hooks->find_username(user_id)
                                        : fail(Errc::not_found, "no user lookup");
                    if (!username && username.error().code == Errc::not_found) {
                        return unprocessable("members", "no user has the id " + user_id);
                    }
                    if (!username) return problem_for(username.error(), request.request_id);
                    members.push_back({user_id, std::move(*username)});
                }
            }
            auto room =
                rooms.create(name->get<std::string>(), is_private, caller(request), members);
            if (!room && room.error().code == Errc::invalid_argument) {
                return unprocessable("name", "must be 1-100 characters");
            }
            if (!room) return problem_for(room.error(), request.request_id);
            return room_response(http::status::created, *room);
        });

    router.add(
        http::verb::post, "/api/v1/chat/rooms/{id}/members",
        [&rooms, shared_hooks](const Request& request) {
            const auto& principal = request.principal;
            if (!principal.is_authenticated()) return unauthorized();
            auto body = read_json_body(request);
            if (!body) return std::move(body.error());
            if (!body->is_object()) return unprocessable("", "the body must be an object");
            const auto user_field = body->find("user_id");
            if (user_field == body->end() || !user_field->is_string()) {
                return unprocessable("user_id", "a user id is required");
            }
            const auto& user_id = user_field->get_ref<const std::string&>();
            auto room = visible_room(rooms, request);
            if (!room) return problem_for(room.error(), request.request_id);
            // Members and admins add anyone; anyone joins a public room themselves.
            const bool is_self_join = user_id == principal.user_id && !room->is_private;
            if (!principal.is_admin() && !room->has_member(principal.user_id) && !is_self_join) {
                return forbidden("Only members of the room can add members.");
            }
            ChatUser member{user_id, principal.username};
            if (user_id != principal.user_id) {
                auto username = shared_hooks->find_username ? shared_hooks->find_username(user_id)
                                                            : fail(Errc::not_found, "no lookup");
                if (!username && username.error().code == Errc::not_found) {
                    return unprocessable("user_id", "no user has this id");
                }
                if (!username) return problem_for(username.error(), request.request_id);
                member.username = std::move(*username);
            }
            auto added = rooms.add_member(room->id, member);
            if (!added) return problem_for(added.error(), request.request_id);
            return Response{http::status::no_content, request.message.version()};
        });

    router.add(http::verb::delete_, "/api/v1/chat/rooms/{id}/members/{user_id}",
               [&rooms](const Request& request) {
                   const auto& principal = request.principal;
                   if (!principal.is_authenticated()) return unauthorized();
                   auto room = visible_room(rooms, request);
                   if (!room) return problem_for(room.error(), request.request_id);
                   const auto user_id = request.param("user_id");
                   // Members may remove themselves; the creator and admins anyone.
                   if (user_id != principal.user_id && room->creator != principal.user_id &&
                       !principal.is_admin()) {
                       return forbidden("Only the room's creator or an admin can remove others.");
                   }
                   auto removed = rooms.remove_member(room->id, user_id);
                   if (!removed) return problem_for(removed.error(), request.request_id);
                   return Response{http::status::no_content, request.message.version()};
               });

    router.add(
        http::verb::get, "/api/v1/chat/rooms/{id}/messages",
        [&rooms, &messages](const Request& request) {
            if (!request.principal.is_authenticated()) return unauthorized();
            std::optional<std::uint64_t> after;
            std::optional<std::uint64_t> before;
            if (!seq_param(request, "after", after)) return bad_parameter("after");
            if (!seq_param(request, "before", before)) return bad_parameter("before");
            const auto limit = page_limit(request, kDefaultPage, kMaxPage);
            if (!limit) return bad_parameter("limit", "limit must be an integer from 1 to 1000.");
            auto room = visible_room(rooms, request);
            if (!room) return problem_for(room.error(), request.request_id);
            const auto count = *limit;
            Result<std::vector<repositories::ChatMessage>> page =
                std::vector<repositories::ChatMessage>{};
            if (before && *before == 0) {
                // nothing comes before seq 0
            } else if (before || !after) {
                page = messages.before(room->id, before.value_or(0), count, after.value_or(0));
            } else {
                page = messages.after(room->id, *after, count);
            }
            if (!page) return problem_for(page.error(), request.request_id);
            Json list = Json::array();
            for (const auto& message : *page) list.push_back(message.to_json());
            return json_response(http::status::ok, Json{{"messages", std::move(list)}}.dump());
        });

    router.add(http::verb::post, "/api/v1/chat/rooms/{id}/messages",
               [&rooms, &messages, shared_hooks](const Request& request) {
                   const auto& principal = request.principal;
                   if (!principal.is_authenticated()) return unauthorized();
                   auto body = read_json_body(request);
                   if (!body) return std::move(body.error());
                   if (!body->is_object()) return unprocessable("", "the body must be an object");
                   const auto text = body->find("text");
                   if (text == body->end() || !text->is_string()) {
                       return unprocessable("text", "a text of 1-4000 characters is required");
                   }
                   std::string client_id;
                   if (const auto id = body->find("client_id"); id != body->end()) {
                       if (!id->is_string() || id->get_ref<const std::string&>().empty() ||
                           id->get_ref<const std::string&>().size() >
                               repositories::MessageRepository::kMaxClientIdBytes) {
                           return unprocessable("client_id", "must be a string of 1-128 bytes");
                       }
                       client_id = id->get<std::string>();
                   }
                   if (!repositories::MessageRepository::is_valid_text(
                           text->get_ref<const std::string&>())) {
                       return unprocessable("text", "must be 1-4000 characters");
                   }
                   auto room = visible_room(rooms, request);
                   if (!room) return problem_for(room.error(), request.request_id);
                   if (!room->has_member(principal.user_id)) {
                       return forbidden("Join the room before posting to it.");
                   }
                   auto posted = messages.post(room->id, caller(request),
                                               text->get_ref<const std::string&>(), client_id);
                   if (!posted) return problem_for(posted.error(), request.request_id);
                   if (!posted->is_duplicate && shared_hooks->delivered) {
                       shared_hooks->delivered(posted->message);
                   }
                   messages.finalize(*posted);
                   return json_response(
                       posted->is_duplicate ? http::status::ok : http::status::created,
                       posted->message.to_json().dump());
               });
}

}  // namespace nexu::api
