#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.hpp"
#include "repositories/room_repository.hpp"

namespace nexu::infrastructure {
class RedisClient;
}

namespace nexu::repositories {

// Chat presence shared by every instance, in Redis (used with NEXU_REDIS_URL):
// per room a hash `presence:<room>` of `<user id>|<instance>` → username, one
// field per user present on an instance, and per instance a heartbeat key
// `presence:alive:<instance>` with a TTL. A field whose instance's heartbeat
// has expired (the instance was killed) is ignored and deleted by the next
// update of that room. An instance is a random name per process, so a
// restarted instance never revives its predecessor's fields. Users of a
// killed instance go offline silently (no event): nobody saw them leave.
//
// Each update runs one Lua script, atomic in Redis: it reports whether the
// user was online anywhere before and after it, so exactly one instance sees
// the first connection (online) and exactly one the last (offline).
//
// Calls block on Redis (timeout from the client): worker threads only.
// Thread-safe; updates of one instance are serialised by a mutex so that the
// state in Redis follows the last local state (see set()).
class PresenceRepository {
public:
    struct Change {
        bool was_online = false;  // the user was online in the room on some instance before
        bool is_online = false;   // and is after this update
        std::vector<ChatUser> online;  // everyone online in the room, after the update
    };

    // `instance` names this instance (NEXU_INSTANCE_ID); a random suffix makes
    // it unique per process.
    PresenceRepository(infrastructure::RedisClient& redis, std::string instance);

    // Records that `user` is (present) or is no longer (!present) connected
    // to `room` on this instance. Errc::unavailable when Redis cannot be used.
    Result<Change> set(std::string_view room, const ChatUser& user, bool present);
    // Refreshes this instance's heartbeat: call at least every kHeartbeat.
    Result<void> heartbeat();
    // Drops the heartbeat (clean shutdown): this instance's fields count no more.
    void retire();

    const std::string& instance() const { return instance_; }

    static constexpr std::chrono::milliseconds kAliveTtl{10000};
    static constexpr std::chrono::milliseconds kHeartbeat{3000};

private:
    infrastructure::RedisClient& redis_;
    std::string instance_;
    std::string script_sha_;
    std::mutex mutex_;
};

}  // namespace nexu::repositories
