#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

#include "domain/token_bucket.hpp"
#include "repositories/message_repository.hpp"
#include "repositories/room_repository.hpp"
#include "sockets/chat_frames.hpp"
#include "sockets/chat_recipient.hpp"
#include "sockets/coalescing_stream.hpp"

namespace nexu::sockets {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

class ChatHub;

// One authenticated WebSocket connection speaking the chat protocol of
// API.md. Owns its stream, read buffer, outgoing queue and per-room join
// state; every handler runs on its strand and holds shared_from_this().
// Store work (join, send, history) goes to the hub's worker pool and comes
// back to the strand.
//
// Outgoing frames are shared and queued; when several are queued, up to
// write_batch of them leave in one socket write, framed here (a server frame
// is an unmasked header plus the shared payload) and written through the
// CoalescingStream that also carries Beast's control frames. The queue is bounded
// (max_queued_frames): a client too slow to read is disconnected (its TCP
// connection closed at once, the queue freed) rather than allowed to grow
// the server's memory, and recovers with `since`. Messages of a room reach
// the session in seq order; it drops any seq it has already sent, holds live
// messages while a join's replay is read, and after a truncated replay
// sends no live messages of that room until the client joins again.
//
// deliver_message, deliver_event, send and close are safe from any thread.
class ChatSession final : public ChatRecipient, public std::enable_shared_from_this<ChatSession> {
public:
    ChatSession(beast::tcp_stream stream,
                ChatHub& hub,
                repositories::ChatUser user,
                bool is_admin,
                std::string origin);
    ~ChatSession() override;
    ChatSession(const ChatSession&) = delete;
    ChatSession& operator=(const ChatSession&) = delete;

    // Completes the handshake (on the strand) and starts reading.
    void start(http::request<http::string_body> request);

    void deliver_message(const std::string& room, std::uint64_t seq, Frame frame) override;
    void deliver_messages(const std::shared_ptr<const MessageBatch>& batch) override;
    void deliver_event(Frame frame) override;
    void send(Frame frame);
    void close(websocket::close_code code);

    const repositories::ChatUser& user() const override { return user_; }
    const std::string& origin() const override { return origin_; }

private:
    enum class Phase { joining, live, paused };
    struct JoinedRoom {
        Phase phase = Phase::joining;
        std::uint64_t last_seq = 0;
        std::vector<std::pair<std::uint64_t, Frame>> held;  // live messages during the replay
        std::uint64_t join_generation = 0;
    };

    void read_next();
    void on_read(beast::error_code ec, std::size_t bytes);
    void on_frame(std::string_view text);
    void handle_join(const nlohmann::json& frame);
    void handle_leave(const nlohmann::json& frame);
    void handle_send(const nlohmann::json& frame);
    void pump_sends();
    // On the strand: one stored message of `room` for this connection.
    void accept_message(const std::string& room, std::uint64_t seq, const Frame& frame);
    void handle_typing(const nlohmann::json& frame);
    void handle_history(const nlohmann::json& frame);
    void finish_join(const std::string& room,
                     std::uint64_t generation,
                     Frame joined,
                     std::vector<std::pair<std::uint64_t, Frame>> replay,
                     std::uint64_t delivered,
                     bool is_truncated);
    // An error frame for a bad frame; true when the client has misbehaved so
    // often that the connection was closed.
    void reject(std::string_view code, std::string_view message, std::string_view ref = {});
    bool is_rate_limited(std::string_view ref);
    void enqueue(Frame frame);
    void write_next();
    void on_write(beast::error_code ec, std::size_t bytes);
    void disconnect();
    void on_closed();

    websocket::stream<CoalescingStream> ws_;
    ChatHub& hub_;
    repositories::ChatUser user_;
    bool is_admin_ = false;
    std::string origin_;
    beast::flat_buffer buffer_;
    std::deque<Frame> outbox_;
    bool is_writing_ = false;
    std::size_t writing_count_ = 0;  // frames at the front of outbox_ in the write under way
    std::string write_headers_;      // their frame headers
    std::vector<boost::asio::const_buffer> write_buffers_;
    bool is_open_ = false;
    bool is_closing_ = false;
    std::atomic<bool> is_closed_{false};  // also read by workers finishing a join
    std::unordered_map<std::string, JoinedRoom> rooms_;
    // Sends are appended in the order the client sent them: the waiting
    // prepared sends to one room together, in one commit (one fsync), the
    // next batch after that one is acknowledged; the client_id reservations
    // of the next few run ahead meanwhile.
    struct PendingSend {
        std::string room;
        std::string text;
        std::string client_id;
        bool is_preparing = false;
        std::optional<Result<repositories::PreparedPost>> prepared;
    };
    std::deque<std::shared_ptr<PendingSend>> sends_waiting_;
    bool is_storing_ = false;
    std::uint64_t join_generation_ = 0;
    domain::TokenBucket sends_;
    std::size_t bad_frames_in_a_row_ = 0;
    std::size_t limited_in_a_row_ = 0;
};

}  // namespace nexu::sockets
