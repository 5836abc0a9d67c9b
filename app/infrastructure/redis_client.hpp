#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "domain/error.hpp"

namespace nexu::infrastructure {

// Where Redis is: parsed from NEXU_REDIS_URL, redis://[:PASSWORD@]HOST[:PORT][/DB].
struct RedisEndpoint {
    std::string host;
    int port = 6379;
    int db = 0;
    std::string password;  // secret: never logged

    static Result<RedisEndpoint> parse(std::string_view url);
};

// One reply, decoded from hiredis's redisReply.
struct RedisReply {
    enum class Kind { nil, status, error, integer, string, array };
    Kind kind = Kind::nil;
    std::string text;  // status, error and string replies
    long long integer = 0;
    std::vector<RedisReply> elements;

    bool is_error() const { return kind == Kind::error; }
};

// A small Redis client over hiredis (Debian's libhiredis 0.14, which ships no
// Asio adapter), for the two things Nexu needs Redis for: chat notifications
// across instances (PUBLISH / SUBSCRIBE) and counters shared by instances
// (EVALSHA of a Lua script).
//
// Commands are synchronous, with a timeout on connect and on every reply
// (default 500 ms): call them from worker threads, never from io threads.
// Thread-safe: one connection, used under a mutex, so concurrent callers
// queue. When Redis is unreachable a command fails at once with
// Errc::unavailable and no new connection is tried for `retry_interval`
// (default 1 s), so a Redis outage costs callers one failed connect per
// interval, not a timeout per call. A reply that is a Redis error ("ERR ...",
// "NOSCRIPT ...") is a RedisReply of kind error, not an Error.
//
// subscribe() runs one dedicated thread with its own connection that
// reconnects with backoff and hands each published message to a callback
// (on that thread: keep it short, e.g. wake another thread). Stopped and
// joined by the destructor. Nothing here logs a password or a message body.
//
// Example (a shared rate-limit counter, from a worker thread):
//     auto reply = redis.evalsha(sha, script, {"rate:login:alice"}, {"10", "900000"});
//     if (!reply) { /* Redis down: fall back to the local limiter */ }
class RedisClient {
public:
    explicit RedisClient(RedisEndpoint endpoint,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds{500},
                         std::chrono::milliseconds retry_interval = std::chrono::milliseconds{
                             1000});
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    // Any command, e.g. {"SET", "k", "v"}. Errc::unavailable when Redis cannot
    // be reached or did not answer within the timeout (the connection is then
    // dropped and re-made on a later call).
    Result<RedisReply> command(const std::vector<std::string>& args);
    // EVALSHA of `script`'s SHA1 `sha`; on NOSCRIPT loads it with EVAL.
    Result<RedisReply> evalsha(std::string_view sha,
                               std::string_view script,
                               const std::vector<std::string>& keys,
                               const std::vector<std::string>& args);
    // SCRIPT LOAD: the SHA1 to pass to evalsha.
    Result<std::string> load_script(std::string_view script);
    Result<void> publish(std::string_view channel, std::string_view message);

    using MessageHandler = std::function<void(std::string_view channel, std::string_view message)>;
    // Starts the subscriber thread for `channel` (once). `on_subscribed` runs
    // after every (re)subscription: messages published while disconnected
    // are lost, so a caller that must not miss any resynchronises there.
    void subscribe(std::string channel,
                   MessageHandler on_message,
                   std::function<void()> on_subscribed = {});
    bool is_subscribed() const { return is_subscribed_; }

private:
    struct Connection;
    Result<std::unique_ptr<Connection>> connect() const;
    void subscriber_loop(std::string channel,
                         MessageHandler on_message,
                         std::function<void()> on_subscribed);

    RedisEndpoint endpoint_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds retry_interval_;

    std::mutex mutex_;  // guards connection_ and next_attempt_
    std::unique_ptr<Connection> connection_;
    std::chrono::steady_clock::time_point next_attempt_{};

    std::atomic<bool> is_stopping_{false};
    std::atomic<bool> is_subscribed_{false};
    std::thread subscriber_;
};

}  // namespace nexu::infrastructure
