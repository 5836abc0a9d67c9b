#include "sockets/chat_session.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/stream_base.hpp>
#include <spdlog/spdlog.h>

#include "config/metrics.hpp"
#include "domain/json_body.hpp"
#include "repositories/message_repository.hpp"
#include "sockets/chat_hub.hpp"

namespace nexu::sockets {

namespace {

using Json = nlohmann::json;
namespace net = boost::asio;

// The largest header of an unmasked WebSocket frame (RFC 6455 5.2).
constexpr std::size_t kMaxFrameHeader = 10;

std::size_t frame_header_size(std::size_t payload) {
    if (payload < 126) return 2;
    if (payload <= 0xFFFF) return 4;
    return 10;
}

// FIN + text opcode, then the payload length; a server does not mask.
void append_frame_header(std::string& out, std::size_t payload) {
    out.push_back(static_cast<char>(0x81));
    if (payload < 126) {
        out.push_back(static_cast<char>(payload));
    } else if (payload <= 0xFFFF) {
        out.push_back(static_cast<char>(126));
        out.push_back(static_cast<char>((payload >> 8U) & 0xFFU));
        out.push_back(static_cast<char>(payload & 0xFFU));
    } else {
        out.push_back(static_cast<char>(127));
        const auto length = static_cast<std::uint64_t>(payload);
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((length >> static_cast<unsigned>(shift)) & 0xFFU));
        }
    }
}

// Bad frames in a row before the connection is closed (1008).
constexpr std::size_t kMaxBadFramesInARow = 50;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr std::size_t kDefaultHistory = 50;
constexpr std::size_t kMaxHistory = 500;
constexpr std::size_t kKeptBufferBytes = 4096;
// client_id reservations taken ahead of the append in progress (each must be
// appended within half the idempotency lease).
constexpr std::size_t kMaxPreparedAhead = 16;
// Prepared sends appended in one commit at most.
constexpr std::size_t kMaxSendBatch = 16;

// A required string field: its value, or the error code and message.
struct Field {
    const std::string* value = nullptr;
    std::string_view code;
    std::string message;
};

Field string_field(const Json& frame, const char* name) {
    const auto found = frame.find(name);
    if (found == frame.end()) return {nullptr, "missing_field", std::string{name} + " is required"};
    if (!found->is_string()) {
        return {nullptr, "invalid_field", std::string{name} + " must be a string"};
    }
    return {found->get_ptr<const std::string*>(), {}, {}};
}

// An optional non-negative integer field: false when present but not one.
bool optional_seq(const Json& frame, const char* name, std::optional<std::uint64_t>& out) {
    const auto found = frame.find(name);
    if (found == frame.end() || found->is_null()) return true;
    if (!found->is_number_unsigned() && !(found->is_number_integer() && *found >= 0)) return false;
    out = found->get<std::uint64_t>();
    return true;
}

std::string_view error_code_for(const Error& error) {
    switch (error.code) {
        case Errc::not_found:
            return "not_found";
        case Errc::invalid_argument:
        case Errc::limit_exceeded:
            return "invalid_field";
        case Errc::conflict:
        case Errc::corrupt_object:
        case Errc::io_error:
        case Errc::unavailable:
            return "unavailable";
    }
    return "unavailable";
}

// WebSocket and chat metrics (docs/architecture.md, "Metrics").
metrics::Gauge& open_sockets() {
    static auto& gauge = metrics::registry().gauge("nexu_websocket_connections_open");
    return gauge;
}

metrics::Counter& frames(bool is_in) {
    static auto& in = metrics::registry().counter("nexu_websocket_frames_total", {{"direction", "in"}});
    static auto& out =
        metrics::registry().counter("nexu_websocket_frames_total", {{"direction", "out"}});
    return is_in ? in : out;
}

metrics::Counter& chat_messages(std::string_view event) {
    static auto& stored =
        metrics::registry().counter("nexu_chat_messages_total", {{"event", "stored"}});
    static auto& delivered =
        metrics::registry().counter("nexu_chat_messages_total", {{"event", "delivered"}});
    return event == "stored" ? stored : delivered;
}

}  // namespace

ChatSession::ChatSession(beast::tcp_stream stream,
                         ChatHub& hub,
                         repositories::ChatUser user,
                         bool is_admin,
                         std::string origin)
    : ws_(std::move(stream)),
      hub_(hub),
      user_(std::move(user)),
      is_admin_(is_admin),
      origin_(std::move(origin)),
      sends_(domain::RateLimit{static_cast<std::uint32_t>(hub.settings().sends_per_second),
                               std::chrono::milliseconds{1000},
                               static_cast<std::uint32_t>(hub.settings().send_burst)},
             domain::TokenBucket::Clock::now()) {}

ChatSession::~ChatSession() = default;

void ChatSession::start(http::request<http::string_body> request) {
    const auto& settings = hub_.settings();
    // Beast pings after half the idle time without a frame and closes after the whole of it.
    ws_.set_option(websocket::stream_base::timeout{kHandshakeTimeout, settings.idle_timeout, true});
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "nexu"); }));
    ws_.read_message_max(settings.max_frame_bytes);
    ws_.auto_fragment(false);
    auto upgrade = std::make_shared<http::request<http::string_body>>(std::move(request));
    ws_.async_accept(*upgrade, [self = shared_from_this(), upgrade](beast::error_code ec) {
        if (ec) return self->on_closed();
        self->is_open_ = true;
        open_sockets().add(1);
        spdlog::debug("chat: {} connected user={}", self->origin_, self->user_.id);
        self->read_next();
        if (!self->outbox_.empty() && !self->is_writing_) self->write_next();
    });
}

void ChatSession::read_next() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
        self->on_read(ec, bytes);
    });
}

void ChatSession::on_read(beast::error_code ec, std::size_t) {
    if (ec) {
        // message_too_big: Beast has already failed the connection with 1009.
        if (ec == websocket::error::message_too_big) {
            spdlog::info("chat: {} closed: frame over {} bytes", origin_,
                         hub_.settings().max_frame_bytes);
        }
        return on_closed();
    }
    frames(true).add();
    if (!ws_.got_text()) {
        reject("bad_json", "frames must be JSON text frames, not binary");
    } else {
        const auto text = beast::buffers_to_string(buffer_.data());
        on_frame(text);
    }
    buffer_.consume(buffer_.size());
    // One large frame must not pin its buffer for the connection's life (memory per idle client).
    if (buffer_.capacity() > kKeptBufferBytes) buffer_.shrink_to_fit();
    if (!is_closing_ && !is_closed_) read_next();
}

void ChatSession::on_frame(std::string_view text) {
    auto parsed = domain::parse_json(text);
    if (!parsed) return reject("bad_json", "the frame is not valid JSON");
    const auto& frame = *parsed;
    if (!frame.is_object()) return reject("bad_json", "a frame must be a JSON object");
    const auto type = string_field(frame, "type");
    if (type.value == nullptr) return reject(type.code, type.message);
    const auto& name = *type.value;
    if (name == "ping") {
        bad_frames_in_a_row_ = 0;
        return enqueue(pong_frame());
    }
    if (name == "join") return handle_join(frame);
    if (name == "leave") return handle_leave(frame);
    if (name == "send") return handle_send(frame);
    if (name == "typing") return handle_typing(frame);
    if (name == "history") return handle_history(frame);
    reject("unknown_type", "unknown frame type");
}

void ChatSession::handle_join(const Json& frame) {
    const auto room_field = string_field(frame, "room");
    if (room_field.value == nullptr) return reject(room_field.code, room_field.message);
    std::optional<std::uint64_t> since;
    if (!optional_seq(frame, "since", since)) {
        return reject("invalid_field", "since must be a non-negative integer");
    }
    bad_frames_in_a_row_ = 0;
    const auto room = *room_field.value;
    auto& state = rooms_[room];
    state = JoinedRoom{};
    state.join_generation = ++join_generation_;
    const auto generation = state.join_generation;

    net::post(hub_.workers(), [self = shared_from_this(), room, since, generation] {
        auto& hub = self->hub_;
        auto fail_join = [&](std::string_view code, std::string message) {
            net::post(self->ws_.get_executor(), [self, room, generation, code,
                                                 message = std::move(message)] {
                const auto found = self->rooms_.find(room);
                if (found != self->rooms_.end() && found->second.join_generation == generation) {
                    self->rooms_.erase(found);
                }
                self->enqueue(error_frame(code, message, room));
            });
        };
        auto found = hub.rooms().find(room);
        if (!found && found.error().code == Errc::not_found) {
            return fail_join("not_found", "no such room");
        }
        if (!found) {
            spdlog::warn("chat: join {} failed: {}", room, found.error().context);
            return fail_join("unavailable", "the room cannot be read now; retry");
        }
        if (!found->has_member(self->user_.id)) {
            if (found->is_private && !self->is_admin_)
                return fail_join("not_found", "no such room");
            if (!found->is_private) {
                // Joining a public room makes the user a member (API.md).
                if (auto added = hub.rooms().add_member(room, self->user_); !added) {
                    spdlog::warn("chat: join {} failed: {}", room, added.error().context);
                    return fail_join("unavailable", "the room cannot be joined now; retry");
                }
            }
        }
        auto current = hub.messages().sequence(room);
        if (!current) {
            spdlog::warn("chat: join {} failed: {}", room, current.error().context);
            return fail_join("unavailable", "the room cannot be read now; retry");
        }
        auto joined = hub.registry().join(room, self, *current);
        if (self->is_closed_) {
            // on_closed ran while we joined: undo, or the registry keeps a ghost.
            hub.registry().leave(room, *self);
            return;
        }
        auto online = hub.presence_joined(room, joined, *self);
        std::vector<std::pair<std::uint64_t, Frame>> replay;
        bool is_truncated = false;
        if (since && *since < joined.delivered) {
            const auto missed = joined.delivered - *since;
            const auto count = std::min<std::uint64_t>(missed, hub.settings().replay_max);
            is_truncated = missed > hub.settings().replay_max;
            auto messages = hub.messages().after(room, *since, static_cast<std::size_t>(count));
            if (!messages) {
                spdlog::warn("chat: replay of {} failed: {}", room, messages.error().context);
                hub.leave_room(room, *self);
                return fail_join("unavailable", "the room cannot be read now; retry");
            }
            replay.reserve(messages->size());
            for (const auto& message : *messages) {
                replay.emplace_back(message.seq, message_frame(message));
            }
        }
        const auto delivered = std::max(joined.delivered, since.value_or(0));
        net::post(self->ws_.get_executor(),
                  [self, room, generation, frame = joined_frame(room, online),
                   replay = std::move(replay), delivered, is_truncated]() mutable {
                      self->finish_join(room, generation, std::move(frame), std::move(replay),
                                        delivered, is_truncated);
                  });
    });
}

void ChatSession::finish_join(const std::string& room,
                              std::uint64_t generation,
                              Frame joined,
                              std::vector<std::pair<std::uint64_t, Frame>> replay,
                              std::uint64_t delivered,
                              bool is_truncated) {
    const auto found = rooms_.find(room);
    if (found == rooms_.end()) {
        // Left while the join was under way: undo the registry's side of it.
        hub_.leave_room(room, *this);
        return;
    }
    if (found->second.join_generation != generation) return;  // a newer join finishes it
    auto& state = found->second;
    enqueue(std::move(joined));
    std::uint64_t last = 0;
    for (auto& [seq, frame] : replay) {
        enqueue(std::move(frame));
        last = seq;
    }
    if (is_truncated) {
        // Live messages now would leave a gap after `last`: the client joins
        // again with since=last and gets the rest.
        state.phase = Phase::paused;
        state.held.clear();
        state.last_seq = last;
        return enqueue(error_frame("history_truncated",
                                   "more messages were missed than are replayed; join again "
                                   "with since set to the last seq received",
                                   room));
    }
    state.phase = Phase::live;
    state.last_seq = std::max(delivered, last);
    for (auto& [seq, frame] : state.held) {
        if (seq <= state.last_seq) continue;
        state.last_seq = seq;
        enqueue(std::move(frame));
    }
    state.held.clear();
}

void ChatSession::handle_leave(const Json& frame) {
    const auto room_field = string_field(frame, "room");
    if (room_field.value == nullptr) return reject(room_field.code, room_field.message);
    const auto& room = *room_field.value;
    const auto found = rooms_.find(room);
    if (found == rooms_.end()) return reject("not_joined", "join the room first", room);
    bad_frames_in_a_row_ = 0;
    rooms_.erase(found);
    hub_.leave_room(room, *this);
    enqueue(left_frame(room));
}

void ChatSession::handle_send(const Json& frame) {
    const auto room_field = string_field(frame, "room");
    if (room_field.value == nullptr) return reject(room_field.code, room_field.message);
    const auto client_field = string_field(frame, "client_id");
    if (client_field.value == nullptr) return reject(client_field.code, client_field.message);
    const auto& client_id = *client_field.value;
    const auto text_field = string_field(frame, "text");
    if (text_field.value == nullptr) return reject(text_field.code, text_field.message, client_id);
    const auto& room = *room_field.value;
    const auto& text = *text_field.value;
    if (client_id.empty() ||
        client_id.size() > repositories::MessageRepository::kMaxClientIdBytes) {
        return reject("invalid_field", "client_id must be 1-128 bytes", client_id);
    }
    if (text.empty()) return reject("invalid_field", "text must not be empty", client_id);
    if (!repositories::MessageRepository::is_valid_text(text)) {
        return reject("text_too_long", "text is longer than 4000 characters", client_id);
    }
    if (!rooms_.contains(room)) return reject("not_joined", "join the room first", client_id);
    if (is_rate_limited(client_id)) return;
    if (sends_waiting_.size() >= hub_.settings().max_queued_frames) {
        return reject("rate_limited", "too many sends waiting to be stored", client_id);
    }
    bad_frames_in_a_row_ = 0;
    auto pending = std::make_shared<PendingSend>();
    pending->room = room;
    pending->text = text;
    pending->client_id = client_id;
    sends_waiting_.push_back(std::move(pending));
    pump_sends();
}

void ChatSession::pump_sends() {
    if (is_closed_) return;
    std::size_t ahead = 0;
    for (const auto& pending : sends_waiting_) {
        if (ahead++ == kMaxPreparedAhead) break;
        if (pending->is_preparing || pending->prepared) continue;
        pending->is_preparing = true;
        net::post(hub_.workers(), [self = shared_from_this(), pending] {
            auto prepared = self->hub_.messages().prepare(pending->room, self->user_, pending->text,
                                                          pending->client_id, self->origin_);
            net::post(self->ws_.get_executor(),
                      [self, pending, prepared = std::move(prepared)]() mutable {
                          pending->prepared = std::move(prepared);
                          pending->is_preparing = false;
                          self->pump_sends();
                      });
        });
    }
    while (!is_storing_ && !sends_waiting_.empty() && sends_waiting_.front()->prepared) {
        if (!*sends_waiting_.front()->prepared) {
            const auto next = std::move(sends_waiting_.front());
            sends_waiting_.pop_front();
            const auto& error = next->prepared->error();
            if (error.code != Errc::invalid_argument) {
                spdlog::warn("chat: send to {} failed: {}", next->room, error.context);
            }
            enqueue(error_frame(error_code_for(error), "the message was not stored; send it again",
                                next->client_id));
            continue;
        }
        // The prepared sends waiting in a row for the same room: one commit.
        std::vector<std::shared_ptr<PendingSend>> batch;
        while (!sends_waiting_.empty() && batch.size() < kMaxSendBatch) {
            auto& next = sends_waiting_.front();
            if (!next->prepared || !*next->prepared) break;
            if (!batch.empty() && next->room != batch.front()->room) break;
            batch.push_back(std::move(next));
            sends_waiting_.pop_front();
        }
        is_storing_ = true;
        net::post(hub_.workers(), [self = shared_from_this(), batch = std::move(batch)] {
            auto& hub = self->hub_;
            const auto& room = batch.front()->room;
            std::vector<repositories::MessageRepository::Prepared> posts;
            posts.reserve(batch.size());
            for (const auto& pending : batch) posts.push_back({pending->text, &**pending->prepared});
            auto results = hub.messages().complete_many(room, self->user_, self->origin_, posts);
            std::vector<Frame> replies;
            replies.reserve(batch.size());
            std::vector<repositories::ChatMessage> stored;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const auto& posted = results[i];
                if (!posted) {
                    if (posted.error().code != Errc::invalid_argument) {
                        spdlog::warn("chat: send to {} failed: {}", room, posted.error().context);
                    }
                    replies.push_back(error_frame(error_code_for(posted.error()),
                                                  "the message was not stored; send it again",
                                                  batch[i]->client_id));
                    continue;
                }
                replies.push_back(ack_frame(batch[i]->client_id, posted->message));
                if (!posted->is_duplicate) stored.push_back(posted->message);
            }
            if (!stored.empty()) {
                chat_messages("stored").add(stored.size());
                hub.committed_many(stored);
            }
            net::post(self->ws_.get_executor(), [self, replies = std::move(replies)] {
                for (const auto& reply : replies) self->enqueue(reply);
                self->is_storing_ = false;
                self->pump_sends();
            });
            // After the acks, off their path, gathered with other connections'.
            for (auto& posted : results) {
                if (!posted || posted->is_duplicate || posted->dedupe_key.empty()) continue;
                hub.finalize_later(std::move(*posted));
            }
        });
    }
}

void ChatSession::handle_typing(const Json& frame) {
    const auto room_field = string_field(frame, "room");
    if (room_field.value == nullptr) return reject(room_field.code, room_field.message);
    const auto& room = *room_field.value;
    if (!rooms_.contains(room)) return reject("not_joined", "join the room first", room);
    if (is_rate_limited(room)) return;
    bad_frames_in_a_row_ = 0;
    hub_.registry().broadcast(room, typing_frame(room, user_), this);
}

void ChatSession::handle_history(const Json& frame) {
    const auto room_field = string_field(frame, "room");
    if (room_field.value == nullptr) return reject(room_field.code, room_field.message);
    std::optional<std::uint64_t> before;
    std::optional<std::uint64_t> limit;
    if (!optional_seq(frame, "before", before)) {
        return reject("invalid_field", "before must be a non-negative integer");
    }
    if (!optional_seq(frame, "limit", limit) || (limit && *limit == 0)) {
        return reject("invalid_field", "limit must be a positive integer");
    }
    const auto room = *room_field.value;
    if (is_rate_limited(room)) return;
    bad_frames_in_a_row_ = 0;
    const auto count = static_cast<std::size_t>(
        std::min<std::uint64_t>(limit.value_or(kDefaultHistory), kMaxHistory));
    net::post(hub_.workers(), [self = shared_from_this(), room, before, count] {
        auto& hub = self->hub_;
        auto found = hub.rooms().find(room);
        if (found && found->is_private && !self->is_admin_ && !found->has_member(self->user_.id)) {
            found = fail(Errc::not_found, "private room");
        }
        if (!found)
            return self->send(error_frame(error_code_for(found.error()), "no such room", room));
        // before=0 asks for nothing before seq 0; an absent before asks for the newest.
        if (before && *before == 0) return self->send(history_frame(room, {}));
        auto messages = hub.messages().before(room, before.value_or(0), count);
        if (!messages) {
            spdlog::warn("chat: history of {} failed: {}", room, messages.error().context);
            return self->send(error_frame("unavailable", "history cannot be read now", room));
        }
        self->send(history_frame(room, *messages));
    });
}

void ChatSession::reject(std::string_view code, std::string_view message, std::string_view ref) {
    enqueue(error_frame(code, message, ref));
    if (++bad_frames_in_a_row_ >= kMaxBadFramesInARow) {
        spdlog::info("chat: {} closed after {} bad frames in a row", origin_, bad_frames_in_a_row_);
        close(websocket::close_code::policy_error);
    }
}

bool ChatSession::is_rate_limited(std::string_view ref) {
    const auto decision = sends_.take(domain::TokenBucket::Clock::now());
    if (decision.allowed) {
        limited_in_a_row_ = 0;
        return false;
    }
    enqueue(error_frame("rate_limited", "too many frames; slow down", ref));
    // A client that ignores rate_limited errors for twice its burst is abusive.
    if (++limited_in_a_row_ > 2 * static_cast<std::size_t>(hub_.settings().send_burst)) {
        spdlog::info("chat: {} closed for persistent rate limit abuse", origin_);
        close(websocket::close_code::policy_error);
    }
    return true;
}

void ChatSession::deliver_message(const std::string& room, std::uint64_t seq, Frame frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), room, seq, frame = std::move(frame)] {
        self->accept_message(room, seq, frame);
    });
}

void ChatSession::deliver_messages(const std::shared_ptr<const MessageBatch>& batch) {
    // One post for the whole batch; the batch (frames included) is shared.
    net::post(ws_.get_executor(), [self = shared_from_this(), batch] {
        for (const auto& entry : batch->messages) {
            if (!entry.origin.empty() && entry.origin == self->origin_) continue;  // acked
            self->accept_message(batch->room, entry.seq, entry.frame);
        }
    });
}

void ChatSession::accept_message(const std::string& room, std::uint64_t seq, const Frame& frame) {
    if (is_closing_ || is_closed_) return;
    const auto found = rooms_.find(room);
    if (found == rooms_.end()) return;
    auto& state = found->second;
    switch (state.phase) {
        case Phase::joining:
            if (state.held.size() >= hub_.settings().max_queued_frames) return disconnect();
            state.held.emplace_back(seq, frame);
            return;
        case Phase::live:
            if (seq <= state.last_seq) return;  // sent already (replay or another path)
            state.last_seq = seq;
            chat_messages("delivered").add();
            return enqueue(frame);
        case Phase::paused:
            return;
    }
}

void ChatSession::deliver_event(Frame frame) {
    send(std::move(frame));
}

void ChatSession::send(Frame frame) {
    net::post(ws_.get_executor(),
              [self = shared_from_this(), frame = std::move(frame)] { self->enqueue(frame); });
}

void ChatSession::close(websocket::close_code code) {
    net::post(ws_.get_executor(), [self = shared_from_this(), code] {
        if (self->is_closing_ || self->is_closed_) return;
        self->is_closing_ = true;
        if (!self->is_open_) return self->disconnect();
        self->ws_.next_layer().release();  // the close frame must really leave before teardown
        self->ws_.async_close(code, [self](beast::error_code) {
            self->on_closed();
            beast::error_code ignored;
            beast::get_lowest_layer(self->ws_).socket().close(ignored);
        });
    });
}

void ChatSession::enqueue(Frame frame) {
    if (is_closing_ || is_closed_) return;
    // Dropping a frame would leave a silent gap; disconnecting lets the client resume with since.
    if (outbox_.size() >= hub_.settings().max_queued_frames) {
        spdlog::info("chat: {} disconnected: {} frames queued (slow reader)", origin_,
                     outbox_.size());
        return disconnect();
    }
    outbox_.push_back(std::move(frame));
    if (is_open_ && !is_writing_) write_next();
}

void ChatSession::write_next() {
    // Up to write_batch queued frames leave in one socket write. A server's
    // frames are not masked, so a frame on the wire is a small header plus
    // the shared payload: we write them ourselves (through the same
    // CoalescingStream as Beast's own control frames, which keeps whole
    // frames in order) instead of one Beast write operation per frame.
    if (!ws_.is_open()) return;  // Beast is closing: no data frame after its close frame
    is_writing_ = true;
    const auto count = std::min(outbox_.size(), std::max<std::size_t>(hub_.settings().write_batch, 1));
    writing_count_ = count;
    write_headers_.clear();
    write_headers_.reserve(count * kMaxFrameHeader);
    for (std::size_t i = 0; i < count; ++i) append_frame_header(write_headers_, outbox_[i]->size());
    write_buffers_.clear();
    write_buffers_.reserve(count * 2);
    std::size_t header_at = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto size = outbox_[i]->size();
        const auto header = frame_header_size(size);
        write_buffers_.emplace_back(write_headers_.data() + header_at, header);
        write_buffers_.emplace_back(outbox_[i]->data(), size);
        header_at += header;
    }
    net::async_write(ws_.next_layer(), write_buffers_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                         self->on_write(ec, bytes);
                     });
}

void ChatSession::on_write(beast::error_code ec, std::size_t) {
    is_writing_ = false;
    if (ec) return on_closed();
    frames(false).add(writing_count_);
    const auto written = std::min(writing_count_, outbox_.size());
    outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(written));
    writing_count_ = 0;
    if (!outbox_.empty() && !is_closing_) write_next();
}

void ChatSession::disconnect() {
    is_closing_ = true;
    outbox_.clear();
    outbox_.shrink_to_fit();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);  // pending reads and writes end now
    on_closed();
}

void ChatSession::on_closed() {
    if (is_closed_) return;
    is_closed_ = true;
    if (is_open_) open_sockets().add(-1);
    outbox_.clear();
    for (const auto& [room, state] : rooms_) {
        hub_.leave_room(room, *this);
    }
    rooms_.clear();
    hub_.on_session_closed(*this);
}

}  // namespace nexu::sockets
