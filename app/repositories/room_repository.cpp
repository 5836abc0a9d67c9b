#include "repositories/room_repository.hpp"

#include <algorithm>
#include <chrono>

#include "domain/timestamp.hpp"

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;

// Lost compare-and-set races before a member change gives up with unavailable.
constexpr int kMaxAttempts = 16;

std::size_t code_points(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
}

Json user_json(const ChatUser& user) {
    return Json{{"id", user.id}, {"username", user.username}};
}

std::string stored_body(const Room& room) {
    Json members = Json::array();
    for (const auto& member : room.members) members.push_back(user_json(member));
    return Json{{"id", room.id},
                {"name", room.name},
                {"private", room.is_private},
                {"members", std::move(members)},
                {"creator", room.creator},
                {"created_at", room.created_at}}
        .dump();
}

Result<Room> parse_room(std::string_view body, std::uint64_t rev) {
    try {
        const auto json = Json::parse(body);
        Room room;
        room.id = json.at("id").get<std::string>();
        room.name = json.at("name").get<std::string>();
        room.is_private = json.at("private").get<bool>();
        for (const auto& member : json.at("members")) {
            room.members.push_back(
                {member.at("id").get<std::string>(), member.at("username").get<std::string>()});
        }
        room.creator = json.at("creator").get<std::string>();
        room.created_at = json.at("created_at").get<std::string>();
        room.rev = rev;
        return room;
    } catch (const Json::exception& error) {
        return fail(Errc::corrupt_object, std::string{"_rooms: "} + error.what());
    }
}

}  // namespace

bool Room::has_member(std::string_view user_id) const {
    return std::any_of(members.begin(), members.end(),
                       [&](const ChatUser& member) { return member.id == user_id; });
}

nlohmann::json Room::to_json() const {
    Json list = Json::array();
    for (const auto& member : members) list.push_back(user_json(member));
    return Json{{"id", id},        {"name", name},       {"private", is_private},
                {"members", list}, {"creator", creator}, {"created_at", created_at}};
}

RoomRepository::RoomRepository(infrastructure::Store& store, infrastructure::UuidV7Generator& ids)
    : store_(store), ids_(ids) {}

std::string RoomRepository::now_timestamp() {
    return domain::format_timestamp(std::chrono::system_clock::now());
}

Result<Room> RoomRepository::create(std::string_view name,
                                    bool is_private,
                                    const ChatUser& creator,
                                    const std::vector<ChatUser>& members) {
    const auto length = code_points(name);
    if (length == 0 || length > kMaxNameChars) {
        return fail(Errc::invalid_argument, "room name must be 1-100 characters");
    }
    Room room;
    room.id = ids_.next();
    room.name = std::string{name};
    room.is_private = is_private;
    room.creator = creator.id;
    room.created_at = now_timestamp();
    room.members.push_back(creator);
    for (const auto& member : members) {
        if (!room.has_member(member.id)) room.members.push_back(member);
    }
    auto written = store_.put(kCollection, room.id, stored_body(room), std::uint64_t{0});
    if (!written) return tl::make_unexpected(written.error());
    room.rev = written->rev;
    return room;
}

Result<Room> RoomRepository::find(std::string_view room_id) const {
    if (!infrastructure::is_uuid_v7(room_id)) return fail(Errc::not_found, "room id");
    auto stored = store_.get(kCollection, room_id);
    if (!stored) return tl::make_unexpected(stored.error());
    return parse_room(*stored->body, stored->rev);
}

Result<std::vector<Room>> RoomRepository::list_visible(std::string_view user_id,
                                                       bool is_admin) const {
    std::vector<Room> rooms;
    std::optional<Error> damaged;
    auto scanned = store_.scan(kCollection, "", [&](std::string_view, const auto& document) {
        auto room = parse_room(*document.body, document.rev);
        if (!room) {
            damaged = room.error();
            return false;
        }
        if (is_admin || !room->is_private || room->has_member(user_id)) {
            rooms.push_back(std::move(*room));
        }
        return true;
    });
    if (!scanned) return tl::make_unexpected(scanned.error());
    if (damaged) return tl::make_unexpected(*damaged);
    return rooms;
}

Result<void> RoomRepository::save(const Room& room,
                                  std::uint64_t expected_rev,
                                  std::uint64_t& new_rev) {
    auto written = store_.put(kCollection, room.id, stored_body(room), expected_rev);
    if (!written) return tl::make_unexpected(written.error());
    new_rev = written->rev;
    return {};
}

template <class Change>
Result<Room> RoomRepository::update(std::string_view room_id, Change change) {
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        auto room = find(room_id);
        if (!room) return room;
        if (!change(*room)) return room;  // nothing to change
        std::uint64_t rev = 0;
        auto saved = save(*room, room->rev, rev);
        if (saved) {
            room->rev = rev;
            return room;
        }
        if (saved.error().code != Errc::conflict) return tl::make_unexpected(saved.error());
    }
    return fail(Errc::unavailable, "room membership changed too often to apply the change");
}

Result<Room> RoomRepository::add_member(std::string_view room_id, const ChatUser& member) {
    return update(room_id, [&](Room& room) {
        if (room.has_member(member.id)) return false;
        room.members.push_back(member);
        return true;
    });
}

Result<Room> RoomRepository::remove_member(std::string_view room_id, std::string_view user_id) {
    return update(room_id, [&](Room& room) {
        const auto before = room.members.size();
        std::erase_if(room.members, [&](const ChatUser& member) { return member.id == user_id; });
        return room.members.size() != before;
    });
}

}  // namespace nexu::repositories
