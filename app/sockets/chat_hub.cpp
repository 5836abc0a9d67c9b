#include "sockets/chat_hub.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sockets/chat_session.hpp"

namespace nexu::sockets {

namespace {

constexpr std::size_t kMaxTailBatch = 1000;

std::string random_nonce() {
    std::random_device device;
    std::uniform_int_distribution<std::uint64_t> digits;
    constexpr char kHex[] = "0123456789abcdef";
    std::string nonce;
    auto value = digits(device);
    for (int i = 0; i < 12; ++i, value >>= 4U) nonce.push_back(kHex[value & 0xFU]);
    return nonce;
}

// Refuses an upgrade with a problem+json response, then closes.
void refuse(beast::tcp_stream stream,
            unsigned version,
            http::status status,
            std::string_view slug,
            std::string_view title,
            std::string_view detail) {
    struct Refusal {
        beast::tcp_stream stream;
        http::response<http::string_body> response;
    };
    auto refusal = std::make_shared<Refusal>(Refusal{std::move(stream), {status, version}});
    auto& response = refusal->response;
    response.set(http::field::content_type, "application/problem+json");
    response.set(http::field::cache_control, "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    if (status == http::status::unauthorized) response.set(http::field::www_authenticate, "Bearer");
    if (status == http::status::service_unavailable) response.set(http::field::retry_after, "1");
    std::string type{"/problems/"};
    type += slug;
    response.body() = nlohmann::json{
        {"type", type},
        {"title", title},
        {"status", static_cast<unsigned>(status)},
        {"detail",
         detail}}.dump();
    response.keep_alive(false);
    response.prepare_payload();
    refusal->stream.expires_after(std::chrono::seconds(10));
    http::async_write(
        refusal->stream, refusal->response, [refusal](beast::error_code, std::size_t) {
            beast::error_code ignored;
            refusal->stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
            refusal->stream.close();
        });
}

// ?ticket=... from the target: the raw value (tickets are URL-safe).
std::string ticket_of(std::string_view target) {
    const auto query_start = target.find('?');
    if (query_start == std::string_view::npos) return {};
    auto query = target.substr(query_start + 1);
    while (!query.empty()) {
        const auto end = query.find('&');
        const auto pair = query.substr(0, end);
        if (pair.starts_with("ticket=")) return std::string{pair.substr(7)};
        if (end == std::string_view::npos) break;
        query.remove_prefix(end + 1);
    }
    return {};
}

}  // namespace

ChatHub::ChatHub(repositories::RoomRepository& rooms,
                 repositories::MessageRepository& messages,
                 net::thread_pool& workers,
                 const config::WebSocketSettings& settings,
                 std::vector<std::string> allowed_origins,
                 Hooks hooks,
                 std::chrono::milliseconds poll_interval)
    : rooms_(rooms),
      messages_(messages),
      workers_(workers),
      settings_(settings),
      allowed_origins_(std::move(allowed_origins)),
      hooks_(std::move(hooks)),
      poll_interval_(std::max(poll_interval, std::chrono::milliseconds{10})),
      instance_nonce_(random_nonce()),
      tailer_([this] { tail_loop(); }) {}

ChatHub::~ChatHub() {
    store_pool_.join();
    // Other instances stop counting this one's users at once, not after the TTL.
    if (hooks_.presence) hooks_.presence->retire();
    {
        std::lock_guard lock{tail_mutex_};
        is_tail_stopping_ = true;
    }
    tail_wake_.notify_all();
    if (tailer_.joinable()) tailer_.join();
}

void ChatHub::accept(beast::tcp_stream stream,
                     http::request<http::string_body> request,
                     std::string peer_address) {
    const auto version = request.version();
    {
        std::lock_guard lock{sessions_mutex_};
        if (is_stopped_) {
            return refuse(std::move(stream), version, http::status::service_unavailable,
                          "unavailable", "Service Unavailable", "The server is shutting down.");
        }
    }
    // A browser upgrade carries an Origin; only the configured ones may connect.
    const auto origin = request[http::field::origin];
    if (!origin.empty() && std::find(allowed_origins_.begin(), allowed_origins_.end(),
                                     std::string_view{origin}) == allowed_origins_.end()) {
        spdlog::info("chat: upgrade from {} refused: origin not allowed", peer_address);
        return refuse(std::move(stream), version, http::status::forbidden, "forbidden", "Forbidden",
                      "This origin may not open a WebSocket.");
    }
    const auto authorization = request[http::field::authorization];
    std::string credential;
    const Authenticate* check = nullptr;
    if (authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "bearer ")) {
        credential = std::string{authorization.substr(7)};
        check = &hooks_.by_bearer;
    } else if (auto ticket = ticket_of(request.target()); !ticket.empty()) {
        credential = std::move(ticket);
        check = &hooks_.by_ticket;
    }
    if (check == nullptr || !*check) {
        return refuse(std::move(stream), version, http::status::unauthorized, "unauthorized",
                      "Unauthorized", "A valid bearer token or WebSocket ticket is required.");
    }
    // The check may read the store (sessions, single-use tickets): on a worker.
    struct Pending {
        beast::tcp_stream stream;
        http::request<http::string_body> request;
    };
    auto pending = std::make_shared<Pending>(Pending{std::move(stream), std::move(request)});
    net::post(workers_, [this, pending, check, credential = std::move(credential)] {
        auto principal = (*check)(credential);
        auto executor = pending->stream.get_executor();
        net::post(executor, [this, pending, principal = std::move(principal)]() mutable {
            const auto http_version = pending->request.version();
            if (!principal || !principal->is_authenticated()) {
                if (!principal && principal.error().code == Errc::unavailable) {
                    return refuse(std::move(pending->stream), http_version,
                                  http::status::service_unavailable, "unavailable",
                                  "Service Unavailable", "Credentials cannot be checked now.");
                }
                return refuse(std::move(pending->stream), http_version,
                              http::status::unauthorized, "unauthorized", "Unauthorized",
                              "A valid bearer token or WebSocket ticket is required.");
            }
            admit(std::move(pending->stream), std::move(pending->request), *principal);
        });
    });
}

void ChatHub::admit(beast::tcp_stream stream,
                    http::request<http::string_body> request,
                    const domain::access::Principal& principal) {
    std::string origin = instance_nonce_;
    origin += ':';
    origin += std::to_string(next_serial_++);
    auto session = std::make_shared<ChatSession>(
        std::move(stream), *this, repositories::ChatUser{principal.user_id, principal.username},
        principal.is_admin(), std::move(origin));
    {
        std::lock_guard lock{sessions_mutex_};
        if (is_stopped_) return;  // the stream closes with the session
        sessions_.emplace(session.get(), session);
    }
    session->start(std::move(request));
}

void ChatHub::on_session_closed(const ChatSession& session) {
    std::lock_guard lock{sessions_mutex_};
    sessions_.erase(&session);
}

std::size_t ChatHub::session_count() const {
    std::lock_guard lock{sessions_mutex_};
    return sessions_.size();
}

void ChatHub::committed(const repositories::ChatMessage& message) {
    if (registry_.committed(message)) notify(message.room);
    if (hooks_.publish) hooks_.publish(message.room, message.seq);
}

void ChatHub::committed_many(const std::vector<repositories::ChatMessage>& messages) {
    if (messages.empty()) return;
    const auto& room = messages.front().room;
    if (registry_.committed_many(messages)) notify(room);
    if (hooks_.publish) {
        std::uint64_t newest = 0;
        for (const auto& message : messages) newest = std::max(newest, message.seq);
        hooks_.publish(room, newest);  // other instances tail the room up to it
    }
}

void ChatHub::notify(std::string_view) {
    {
        std::lock_guard lock{tail_mutex_};
        is_tail_due_ = true;
    }
    tail_wake_.notify_one();
}

void ChatHub::stop() {
    std::vector<std::shared_ptr<ChatSession>> open;
    {
        std::lock_guard lock{sessions_mutex_};
        is_stopped_ = true;
        for (const auto& [key, weak] : sessions_) {
            if (auto session = weak.lock()) open.push_back(std::move(session));
        }
    }
    for (const auto& session : open) session->close(websocket::close_code::going_away);
}

void ChatHub::tail_loop() {
    auto next_heartbeat = std::chrono::steady_clock::now();
    for (;;) {
        if (hooks_.presence && std::chrono::steady_clock::now() >= next_heartbeat) {
            if (auto beat = hooks_.presence->heartbeat(); !beat) {
                spdlog::warn("chat: presence heartbeat failed: {}", beat.error().context);
            }
            next_heartbeat =
                std::chrono::steady_clock::now() + repositories::PresenceRepository::kHeartbeat;
        }
        {
            std::unique_lock lock{tail_mutex_};
            tail_wake_.wait_for(lock, poll_interval_,
                                [this] { return is_tail_due_ || is_tail_stopping_; });
            if (is_tail_stopping_) return;
            is_tail_due_ = false;
        }
        for (const auto& cursor : registry_.cursors()) tail_room(cursor);
        std::vector<repositories::PostedMessage> due;
        {
            std::lock_guard lock{finalize_mutex_};
            due.swap(finalize_due_);
        }
        // All posted at once: idle pool threads reach the store together and share a commit.
        for (auto& posted : due) {
            net::post(store_pool_, [this, done = std::move(posted)] { messages_.finalize(done); });
        }
    }
}

void ChatHub::finalize_later(repositories::PostedMessage posted) {
    std::lock_guard lock{finalize_mutex_};
    finalize_due_.push_back(std::move(posted));
}

void ChatHub::announce(const std::string& room,
                       const repositories::ChatUser& user,
                       bool is_online,
                       const ChatRecipient* except) {
    registry_.broadcast(room, presence_frame(room, user, is_online), except);
    if (!hooks_.presence || !hooks_.publish_presence) return;
    hooks_.publish_presence(nlohmann::json{{"instance", hooks_.presence->instance()},
                                           {"room", room},
                                           {"id", user.id},
                                           {"username", user.username},
                                           {"online", is_online}}
                                .dump());
}

Result<repositories::PresenceRepository::Change> ChatHub::update_presence(
    const std::string& room, const repositories::ChatUser& user, const ChatRecipient* except) {
    std::lock_guard lock{presence_mutex_};
    const bool is_here = registry_.has_user(room, user.id);
    auto change = hooks_.presence->set(room, user, is_here);
    if (!change) return change;
    if (change->is_online != change->was_online) announce(room, user, change->is_online, except);
    return change;
}

std::vector<repositories::ChatUser> ChatHub::presence_joined(const std::string& room,
                                                             const RoomRegistry::Joined& joined,
                                                             const ChatRecipient& session) {
    if (hooks_.presence) {
        auto change = update_presence(room, session.user(), &session);
        if (change) return std::move(change->online);
        spdlog::warn("chat: presence across instances unavailable ({}): this instance's only",
                     change.error().context);
    }
    if (joined.is_first_of_user) announce(room, session.user(), true, &session);
    return joined.online;
}

void ChatHub::leave_room(const std::string& room, const ChatRecipient& session) {
    if (!registry_.leave(room, session)) return;  // the user is still here
    if (!hooks_.presence) return announce(room, session.user(), false, nullptr);
    net::post(store_pool_, [this, room, user = session.user()] {
        if (update_presence(room, user, nullptr)) return;
        // Redis is down: say what this instance knows.
        if (!registry_.has_user(room, user.id)) announce(room, user, false, nullptr);
    });
}

void ChatHub::remote_presence(std::string_view note) {
    auto parsed = nlohmann::json::parse(note, nullptr, false);
    if (!parsed.is_object()) return;
    const auto instance = parsed.find("instance");
    const auto room = parsed.find("room");
    const auto id = parsed.find("id");
    const auto username = parsed.find("username");
    const auto online = parsed.find("online");
    if (instance == parsed.end() || room == parsed.end() || id == parsed.end() ||
        username == parsed.end() || online == parsed.end() || !instance->is_string() ||
        !room->is_string() || !id->is_string() || !username->is_string() ||
        !online->is_boolean()) {
        return;
    }
    if (hooks_.presence && instance->get_ref<const std::string&>() == hooks_.presence->instance())
        return;  // announced here already
    const auto& room_id = room->get_ref<const std::string&>();
    registry_.broadcast(room_id,
                        presence_frame(room_id,
                                       {id->get<std::string>(), username->get<std::string>()},
                                       online->get<bool>()),
                        nullptr);
}

void ChatHub::tail_room(const RoomRegistry::Cursor& cursor) {
    auto newest = messages_.sequence(cursor.room);
    if (!newest) {
        spdlog::warn("chat: tailing {} failed: {}", cursor.room, newest.error().context);
        return;
    }
    auto after = cursor.delivered;
    while (after < *newest) {
        const auto count = std::min<std::uint64_t>(*newest - after, kMaxTailBatch);
        auto batch = messages_.after(cursor.room, after, static_cast<std::size_t>(count));
        if (!batch) {
            spdlog::warn("chat: tailing {} failed: {}", cursor.room, batch.error().context);
            return;
        }
        if (batch->empty()) return;
        registry_.committed_many(*batch);
        after = batch->back().seq;
    }
}

}  // namespace nexu::sockets
