#include "infrastructure/redis_client.hpp"

#include <charconv>

#include <hiredis/hiredis.h>
#include <poll.h>

namespace nexu::infrastructure {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds{200};
constexpr auto kMaxBackoff = std::chrono::milliseconds{2000};

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
    return tv;
}

RedisReply decode(const redisReply& reply) {
    RedisReply out;
    switch (reply.type) {
        case REDIS_REPLY_STATUS:
            out.kind = RedisReply::Kind::status;
            out.text.assign(reply.str, reply.len);
            break;
        case REDIS_REPLY_ERROR:
            out.kind = RedisReply::Kind::error;
            out.text.assign(reply.str, reply.len);
            break;
        case REDIS_REPLY_INTEGER:
            out.kind = RedisReply::Kind::integer;
            out.integer = reply.integer;
            break;
        case REDIS_REPLY_STRING:
            out.kind = RedisReply::Kind::string;
            out.text.assign(reply.str, reply.len);
            break;
        case REDIS_REPLY_ARRAY:
            out.kind = RedisReply::Kind::array;
            for (std::size_t i = 0; i < reply.elements; ++i) {
                out.elements.push_back(decode(*reply.element[i]));
            }
            break;
        default:
            out.kind = RedisReply::Kind::nil;
    }
    return out;
}

struct ReplyDeleter {
    void operator()(void* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

std::string context_error(const redisContext* context) {
    std::string text{"redis: "};
    text += context != nullptr && context->err != 0 ? context->errstr : "cannot allocate a context";
    return text;
}

}  // namespace

struct RedisClient::Connection {
    redisContext* context = nullptr;
    ~Connection() {
        if (context != nullptr) redisFree(context);
    }
    // One command and its reply; the context is unusable after an I/O error.
    Result<RedisReply> run(const std::vector<std::string>& args) const {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        argv.reserve(args.size());
        lengths.reserve(args.size());
        for (const auto& arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        ReplyPtr reply{
            redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data())};
        if (!reply) return fail(Errc::unavailable, context_error(context));
        return decode(*static_cast<redisReply*>(reply.get()));
    }
};

Result<RedisEndpoint> RedisEndpoint::parse(std::string_view url) {
    constexpr std::string_view kScheme = "redis://";
    if (!url.starts_with(kScheme)) return fail(Errc::invalid_argument, "must start with redis://");
    url.remove_prefix(kScheme.size());
    RedisEndpoint endpoint;
    if (const auto at = url.rfind('@'); at != std::string_view::npos) {
        auto credentials = url.substr(0, at);
        if (const auto colon = credentials.find(':'); colon != std::string_view::npos) {
            credentials.remove_prefix(colon + 1);
        }
        endpoint.password = std::string{credentials};
        url.remove_prefix(at + 1);
    }
    if (const auto slash = url.find('/'); slash != std::string_view::npos) {
        const auto db = url.substr(slash + 1);
        if (!db.empty()) {
            const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), endpoint.db);
            if (ec != std::errc{} || end != db.data() + db.size() || endpoint.db < 0) {
                return fail(Errc::invalid_argument, "the database must be a number");
            }
        }
        url = url.substr(0, slash);
    }
    if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
        const auto port = url.substr(colon + 1);
        const auto [end, ec] =
            std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
        if (ec != std::errc{} || end != port.data() + port.size() || endpoint.port < 1 ||
            endpoint.port > 65535) {
            return fail(Errc::invalid_argument, "the port must be 1-65535");
        }
        url = url.substr(0, colon);
    }
    if (url.empty()) return fail(Errc::invalid_argument, "the host is missing");
    endpoint.host = std::string{url};
    return endpoint;
}

RedisClient::RedisClient(RedisEndpoint endpoint,
                         std::chrono::milliseconds timeout,
                         std::chrono::milliseconds retry_interval)
    : endpoint_(std::move(endpoint)), timeout_(timeout), retry_interval_(retry_interval) {}

RedisClient::~RedisClient() {
    is_stopping_ = true;
    if (subscriber_.joinable()) subscriber_.join();
}

Result<std::unique_ptr<RedisClient::Connection>> RedisClient::connect() const {
    auto connection = std::make_unique<Connection>();
    connection->context =
        redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, to_timeval(timeout_));
    if (connection->context == nullptr || connection->context->err != 0) {
        return fail(Errc::unavailable, context_error(connection->context));
    }
    if (redisSetTimeout(connection->context, to_timeval(timeout_)) != REDIS_OK) {
        return fail(Errc::unavailable, context_error(connection->context));
    }
    redisEnableKeepAlive(connection->context);
    if (!endpoint_.password.empty()) {
        auto auth = connection->run({"AUTH", endpoint_.password});
        if (!auth) return tl::make_unexpected(auth.error());
        if (auth->is_error()) return fail(Errc::unavailable, "redis: AUTH refused");
    }
    if (endpoint_.db != 0) {
        auto select = connection->run({"SELECT", std::to_string(endpoint_.db)});
        if (!select) return tl::make_unexpected(select.error());
        if (select->is_error()) return fail(Errc::unavailable, "redis: SELECT refused");
    }
    return connection;
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& args) {
    std::lock_guard lock{mutex_};
    if (!connection_) {
        if (Clock::now() < next_attempt_)
            return fail(Errc::unavailable, "redis: down, retry later");
        auto connected = connect();
        if (!connected) {
            next_attempt_ = Clock::now() + retry_interval_;
            return tl::make_unexpected(connected.error());
        }
        connection_ = std::move(*connected);
    }
    auto reply = connection_->run(args);
    if (!reply) {
        connection_.reset();  // unusable after an I/O error or a timeout
        next_attempt_ = Clock::now() + retry_interval_;
    }
    return reply;
}

Result<RedisReply> RedisClient::evalsha(std::string_view sha,
                                        std::string_view script,
                                        const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args) {
    std::vector<std::string> argv{"EVALSHA", std::string{sha}, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto reply = command(argv);
    if (!reply || !reply->is_error() || !reply->text.starts_with("NOSCRIPT")) return reply;
    argv[0] = "EVAL";
    argv[1] = std::string{script};  // EVAL also caches the script under its SHA1
    return command(argv);
}

Result<std::string> RedisClient::load_script(std::string_view script) {
    auto reply = command({"SCRIPT", "LOAD", std::string{script}});
    if (!reply) return tl::make_unexpected(reply.error());
    if (reply->kind != RedisReply::Kind::string) {
        return fail(Errc::invalid_argument, "redis: SCRIPT LOAD refused the script");
    }
    return reply->text;
}

Result<void> RedisClient::publish(std::string_view channel, std::string_view message) {
    auto reply = command({"PUBLISH", std::string{channel}, std::string{message}});
    if (!reply) return tl::make_unexpected(reply.error());
    if (reply->is_error()) return fail(Errc::unavailable, "redis: PUBLISH refused");
    return {};
}

void RedisClient::subscribe(std::string channel,
                            MessageHandler on_message,
                            std::function<void()> on_subscribed) {
    if (subscriber_.joinable()) return;
    subscriber_ =
        std::thread{[this, channel = std::move(channel), on_message = std::move(on_message),
                     on_subscribed = std::move(on_subscribed)]() mutable {
            subscriber_loop(std::move(channel), std::move(on_message), std::move(on_subscribed));
        }};
}

void RedisClient::subscriber_loop(std::string channel,
                                  MessageHandler on_message,
                                  std::function<void()> on_subscribed) {
    auto backoff = std::chrono::milliseconds{100};
    auto sleep_unless_stopping = [this](std::chrono::milliseconds duration) {
        const auto until = Clock::now() + duration;
        while (!is_stopping_ && Clock::now() < until)
            std::this_thread::sleep_for(kPollInterval / 4);
    };
    while (!is_stopping_) {
        auto connection = connect();
        if (!connection) {
            sleep_unless_stopping(backoff);
            backoff = std::min(backoff * 2, kMaxBackoff);
            continue;
        }
        auto subscribed = (*connection)->run({"SUBSCRIBE", channel});
        if (!subscribed || subscribed->is_error()) {
            sleep_unless_stopping(backoff);
            continue;
        }
        backoff = std::chrono::milliseconds{100};
        is_subscribed_ = true;
        if (on_subscribed) on_subscribed();
        redisContext* context = (*connection)->context;
        // Replies are read with poll() rather than a socket timeout: a timed-out
        // hiredis read leaves the context unusable, and we want to wake up to
        // check is_stopping_ without dropping the subscription.
        while (!is_stopping_) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(context, &raw) != REDIS_OK) break;
            if (raw != nullptr) {
                ReplyPtr reply{raw};
                const auto& message = *static_cast<redisReply*>(raw);
                if (message.type == REDIS_REPLY_ARRAY && message.elements == 3 &&
                    message.element[0]->type == REDIS_REPLY_STRING &&
                    std::string_view{message.element[0]->str, message.element[0]->len} ==
                        "message") {
                    on_message({message.element[1]->str, message.element[1]->len},
                               {message.element[2]->str, message.element[2]->len});
                }
                continue;
            }
            pollfd descriptor{context->fd, POLLIN, 0};
            const int ready = ::poll(&descriptor, 1, static_cast<int>(kPollInterval.count()));
            if (ready < 0 && errno != EINTR) break;
            if (ready > 0 && redisBufferRead(context) != REDIS_OK) break;  // disconnected
        }
        is_subscribed_ = false;
    }
}

}  // namespace nexu::infrastructure
