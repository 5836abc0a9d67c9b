#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.hpp"
#include "domain/access/collection_rules.hpp"
#include "domain/error.hpp"
#include "repositories/message_repository.hpp"
#include "repositories/presence_repository.hpp"
#include "repositories/room_repository.hpp"
#include "sockets/room_registry.hpp"

namespace nexu::sockets {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

class ChatSession;

// Chat over WebSocket (API.md): takes upgrades handed over by the HTTP
// listener, checks the Origin (403) and the credentials (401: bearer header or
// single-use ticket, both checked by hooks from main on a worker), then runs
// one ChatSession per connection. Holds what sessions share: the room
// registry (fan-out in seq order, presence), the repositories, the worker
// pool, and a tailer thread that delivers messages other instances (and REST
// posts on other instances) committed, by polling the logs of the rooms that
// have joined connections here every poll interval, or at once when
// notify() says a room moved (Redis, when configured).
//
// Thread-safe. Store calls run on the worker pool or the tailer thread,
// never on io threads. stop() closes every session with 1001 and stops the
// tailer; the hub must outlive the io_context's run() and the workers.
class ChatHub {
public:
    using Authenticate =
        std::function<Result<domain::access::Principal>(std::string_view credential)>;
    struct Hooks {
        Authenticate by_bearer;  // Authorization: Bearer <token>
        Authenticate by_ticket;  // ?ticket=<ticket>, single use
        // After a message is stored here: tell other instances (Redis publish).
        std::function<void(const std::string& room, std::uint64_t seq)> publish;
        // Presence across instances (Redis): null keeps presence per instance.
        repositories::PresenceRepository* presence = nullptr;
        // Tells other instances of a presence change (a note for remote_presence()).
        std::function<void(const std::string& note)> publish_presence;
    };

    ChatHub(repositories::RoomRepository& rooms,
            repositories::MessageRepository& messages,
            net::thread_pool& workers,
            const config::WebSocketSettings& settings,
            std::vector<std::string> allowed_origins,
            Hooks hooks,
            std::chrono::milliseconds poll_interval);
    ~ChatHub();
    ChatHub(const ChatHub&) = delete;
    ChatHub& operator=(const ChatHub&) = delete;

    // On the connection's strand: answers 403/401 or upgrades.
    void accept(beast::tcp_stream stream,
                http::request<http::string_body> request,
                std::string peer_address);

    // A message stored by this instance (a socket send or a REST post): fans
    // it out to the joined connections here and publishes it. Any thread.
    void committed(const repositories::ChatMessage& message);
    // committed() for several messages of one room stored together (one
    // delivery per connection, one publish for the newest seq). Any thread.
    void committed_many(const std::vector<repositories::ChatMessage>& messages);
    // Another instance stored something in `room`: tail it now. Any thread.
    void notify(std::string_view room);
    // A presence note another instance published (see publish_presence): its
    // online/offline event goes to the room's joined connections here. Any thread.
    void remote_presence(std::string_view note);
    // Closes every session with 1001 (going away) and stops the tailer.
    void stop();
    std::size_t session_count() const;

    // ---- for ChatSession ----
    repositories::RoomRepository& rooms() { return rooms_; }
    repositories::MessageRepository& messages() { return messages_; }
    RoomRegistry& registry() { return registry_; }
    // Chat's own pool for store calls (joins, sends, history).
    net::thread_pool& workers() { return store_pool_; }
    // Threads of that pool. They mostly wait on fsync, and the store commits
    // concurrent appends together, so more waiting threads make bigger group
    // commits, not more CPU.
    static constexpr std::size_t kStoreThreads = 32;
    const config::WebSocketSettings& settings() const { return settings_; }
    void on_session_closed(const ChatSession& session);
    // Records a stored send's seq in its dedupe document (MessageRepository::
    // finalize) soon, off the ack's path: the tailer hands those gathered in
    // one poll interval to the store pool together, so they share one group
    // commit instead of one commit each. Skipping one (at shutdown) is safe.
    void finalize_later(repositories::PostedMessage posted);
    // On a store-pool thread, after registry().join(): records the user's
    // presence (across instances with Redis), announces `online` when this is
    // the user's first connection to the room anywhere, and returns the
    // room's online users for the `joined` frame.
    std::vector<repositories::ChatUser> presence_joined(const std::string& room,
                                                        const RoomRegistry::Joined& joined,
                                                        const ChatRecipient& session);
    // Takes `session` out of `room` and announces `offline` when it was the
    // user's last connection to the room anywhere (with Redis: decided on a
    // store-pool thread). Any thread.
    void leave_room(const std::string& room, const ChatRecipient& session);

private:
    void admit(beast::tcp_stream stream,
               http::request<http::string_body> request,
               const domain::access::Principal& principal);
    void tail_loop();
    // With presence: sets the user's presence here from the registry's
    // current state (so updates that race still end in the right state) and
    // announces a change. Store-pool thread.
    Result<repositories::PresenceRepository::Change> update_presence(
        const std::string& room, const repositories::ChatUser& user, const ChatRecipient* except);
    void announce(const std::string& room,
                  const repositories::ChatUser& user,
                  bool is_online,
                  const ChatRecipient* except);
    void tail_room(const RoomRegistry::Cursor& cursor);

    repositories::RoomRepository& rooms_;
    repositories::MessageRepository& messages_;
    net::thread_pool& workers_;  // main's: credential checks
    net::thread_pool store_pool_{kStoreThreads};
    const config::WebSocketSettings& settings_;
    std::vector<std::string> allowed_origins_;
    Hooks hooks_;
    std::chrono::milliseconds poll_interval_;
    RoomRegistry registry_;
    std::string instance_nonce_;  // makes connection origins unique across instances
    std::atomic<std::uint64_t> next_serial_{1};

    mutable std::mutex sessions_mutex_;
    std::unordered_map<const ChatSession*, std::weak_ptr<ChatSession>> sessions_;
    bool is_stopped_ = false;

    std::mutex tail_mutex_;
    std::condition_variable tail_wake_;
    bool is_tail_due_ = false;
    bool is_tail_stopping_ = false;
    std::thread tailer_;
    std::mutex finalize_mutex_;
    std::vector<repositories::PostedMessage> finalize_due_;
    std::mutex presence_mutex_;  // one presence update at a time (read local state, write Redis)
};

}  // namespace nexu::sockets
