#include "sockets/room_registry.hpp"

#include <algorithm>

namespace nexu::sockets {

std::shared_ptr<RoomRegistry::RoomState> RoomRegistry::find(std::string_view room) const {
    std::lock_guard lock{mutex_};
    const auto found = rooms_.find(std::string{room});
    return found == rooms_.end() ? nullptr : found->second;
}

RoomRegistry::Joined RoomRegistry::join(std::string_view room,
                                        const std::shared_ptr<ChatRecipient>& session,
                                        std::uint64_t current_seq) {
    std::lock_guard lock{mutex_};  // held so that leave() cannot drop the room meanwhile
    auto& state = rooms_[std::string{room}];
    if (!state) {
        state = std::make_shared<RoomState>();
        state->delivered = current_seq;
    }
    std::lock_guard room_lock{state->mutex};
    Joined joined;
    const bool is_member = std::any_of(state->members.begin(), state->members.end(),
                                       [&](const Member& m) { return m.key == session.get(); });
    if (!is_member) {
        state->members.push_back({session, session.get(), session->user().id, session->origin()});
        auto& [user, count] = state->users[session->user().id];
        user = session->user();
        joined.is_first_of_user = ++count == 1;
    }
    joined.delivered = state->delivered;
    for (const auto& [id, entry] : state->users) joined.online.push_back(entry.first);
    return joined;
}

bool RoomRegistry::leave(std::string_view room, const ChatRecipient& session) {
    std::lock_guard lock{mutex_};
    const auto found = rooms_.find(std::string{room});
    if (found == rooms_.end()) return false;
    const auto keep = found->second;  // outlives room_lock below, even after the erase
    auto& state = *keep;
    std::lock_guard room_lock{state.mutex};
    const auto member = std::find_if(state.members.begin(), state.members.end(),
                                     [&](const Member& m) { return m.key == &session; });
    if (member == state.members.end()) return false;
    const auto user_id = member->user_id;
    state.members.erase(member);
    bool was_last = false;
    if (auto user = state.users.find(user_id); user != state.users.end()) {
        if (--user->second.second == 0) {
            state.users.erase(user);
            was_last = true;
        }
    }
    if (state.members.empty()) rooms_.erase(found);  // stop tailing it
    return was_last;
}

void RoomRegistry::take(RoomState& state,
                        const repositories::ChatMessage& message,
                        MessageBatch& batch) {
    batch.messages.push_back({message.seq, message_frame(message), message.origin});
    state.delivered = message.seq;
}

void RoomRegistry::fan_out(RoomState& state, std::shared_ptr<const MessageBatch> batch) {
    for (const auto& member : state.members) {
        // A batch made only of this connection's own messages: it gets the acks.
        const bool has_other = std::any_of(
            batch->messages.begin(), batch->messages.end(), [&](const MessageBatch::Entry& entry) {
                return entry.origin.empty() || entry.origin != member.origin;
            });
        if (!has_other) continue;
        if (auto session = member.session.lock()) session->deliver_messages(batch);
    }
}

bool RoomRegistry::committed(const repositories::ChatMessage& message) {
    return committed_many({message});
}

bool RoomRegistry::committed_many(const std::vector<repositories::ChatMessage>& messages) {
    if (messages.empty()) return false;
    auto state = find(messages.front().room);
    if (!state) return false;  // nobody here has joined the room
    std::lock_guard lock{state->mutex};
    auto batch = std::make_shared<MessageBatch>();
    batch->room = messages.front().room;
    batch->messages.reserve(messages.size());
    for (const auto& message : messages) {
        if (message.seq <= state->delivered) continue;  // delivered already (tailer or a worker)
        if (message.seq != state->delivered + 1) {
            // The tailer fills the gap from the log if nobody else does.
            if (state->reorder.size() < kMaxReorder) state->reorder.emplace(message.seq, message);
            continue;
        }
        take(*state, message, *batch);
        for (auto next = state->reorder.begin(); next != state->reorder.end();) {
            if (next->first <= state->delivered) {
                next = state->reorder.erase(next);
            } else if (next->first == state->delivered + 1) {
                take(*state, next->second, *batch);
                next = state->reorder.erase(next);
            } else {
                break;
            }
        }
    }
    // Posted while the room's mutex is held, so batches reach each strand in seq order.
    if (!batch->messages.empty()) fan_out(*state, std::move(batch));
    return !state->reorder.empty();
}

void RoomRegistry::broadcast(std::string_view room,
                             const Frame& frame,
                             const ChatRecipient* except) {
    auto state = find(room);
    if (!state) return;
    std::vector<std::shared_ptr<ChatRecipient>> recipients;
    {
        std::lock_guard lock{state->mutex};
        recipients.reserve(state->members.size());
        for (const auto& member : state->members) {
            if (member.key == except) continue;
            if (auto session = member.session.lock()) recipients.push_back(std::move(session));
        }
    }
    for (const auto& session : recipients) session->deliver_event(frame);
}

bool RoomRegistry::has_user(std::string_view room, const std::string& user_id) const {
    auto state = find(room);
    if (!state) return false;
    std::lock_guard lock{state->mutex};
    return state->users.contains(user_id);
}

std::vector<RoomRegistry::Cursor> RoomRegistry::cursors() const {
    std::vector<std::pair<std::string, std::shared_ptr<RoomState>>> rooms;
    {
        std::lock_guard lock{mutex_};
        rooms.assign(rooms_.begin(), rooms_.end());
    }
    std::vector<Cursor> cursors;
    cursors.reserve(rooms.size());
    for (const auto& [room, state] : rooms) {
        std::lock_guard lock{state->mutex};
        cursors.push_back({room, state->delivered});
    }
    return cursors;
}

std::size_t RoomRegistry::room_count() const {
    std::lock_guard lock{mutex_};
    return rooms_.size();
}

}  // namespace nexu::sockets
