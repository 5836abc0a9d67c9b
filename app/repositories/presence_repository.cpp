#include "repositories/presence_repository.hpp"

#include <cstdint>
#include <random>

#include "infrastructure/redis_client.hpp"

namespace nexu::repositories {

namespace {

// KEYS[1] presence:<room>; ARGV: user id, instance, present (1/0), username,
// alive TTL in ms. Returns {was_online, is_online, id1, name1, id2, name2, ...}.
constexpr std::string_view kScript = R"lua(
local room, user, instance = KEYS[1], ARGV[1], ARGV[2]
redis.call('SET', 'presence:alive:' .. instance, '1', 'PX', ARGV[5])
local alive = {}
local function is_alive(name)
  if alive[name] == nil then
    alive[name] = redis.call('EXISTS', 'presence:alive:' .. name) == 1
  end
  return alive[name]
end
local function scan()
  local users, order = {}, {}
  local all = redis.call('HGETALL', room)
  for i = 1, #all, 2 do
    local field = all[i]
    local sep = string.find(field, '|', 1, true)
    if sep then
      if is_alive(string.sub(field, sep + 1)) then
        local id = string.sub(field, 1, sep - 1)
        if users[id] == nil then
          users[id] = all[i + 1]
          order[#order + 1] = id
        end
      else
        redis.call('HDEL', room, field)
      end
    end
  end
  return users, order
end
local before = scan()
local field = user .. '|' .. instance
if ARGV[3] == '1' then
  redis.call('HSET', room, field, ARGV[4])
else
  redis.call('HDEL', room, field)
end
local after, order = scan()
local reply = {before[user] and 1 or 0, after[user] and 1 or 0}
for _, id in ipairs(order) do
  reply[#reply + 1] = id
  reply[#reply + 1] = after[id]
end
return reply
)lua";

std::string key_of(std::string_view room) {
    std::string key{"presence:"};
    key += room;
    return key;
}

}  // namespace

PresenceRepository::PresenceRepository(infrastructure::RedisClient& redis, std::string instance)
    : redis_(redis), instance_(std::move(instance)) {
    std::random_device device;
    std::uniform_int_distribution<std::uint64_t> digits;
    constexpr char kHex[] = "0123456789abcdef";
    instance_ += '-';
    auto value = digits(device);
    for (int i = 0; i < 16; ++i, value >>= 4U) instance_.push_back(kHex[value & 0xFU]);
}

Result<PresenceRepository::Change> PresenceRepository::set(std::string_view room,
                                                           const ChatUser& user,
                                                           bool present) {
    std::lock_guard lock{mutex_};
    // Loaded once; evalsha re-sends the script when Redis has lost it (restart).
    if (script_sha_.empty()) {
        auto sha = redis_.load_script(kScript);
        if (!sha) return tl::make_unexpected(sha.error());
        script_sha_ = std::move(*sha);
    }
    auto reply = redis_.evalsha(script_sha_, kScript, {key_of(room)},
                                {user.id, instance_, present ? "1" : "0", user.username,
                                 std::to_string(kAliveTtl.count())});
    if (!reply) return tl::make_unexpected(reply.error());
    if (reply->kind != infrastructure::RedisReply::Kind::array || reply->elements.size() < 2 ||
        reply->elements.size() % 2 != 0) {
        return fail(Errc::unavailable, "presence: unexpected reply from Redis: " + reply->text);
    }
    Change change;
    change.was_online = reply->elements[0].integer != 0;
    change.is_online = reply->elements[1].integer != 0;
    for (std::size_t i = 2; i + 1 < reply->elements.size(); i += 2) {
        change.online.push_back({reply->elements[i].text, reply->elements[i + 1].text});
    }
    return change;
}

Result<void> PresenceRepository::heartbeat() {
    auto reply = redis_.command({"SET", "presence:alive:" + instance_, "1", "PX",
                                 std::to_string(kAliveTtl.count())});
    if (!reply) return tl::make_unexpected(reply.error());
    if (reply->is_error()) return fail(Errc::unavailable, "presence: heartbeat refused by Redis");
    return {};
}

void PresenceRepository::retire() {
    (void)redis_.command({"DEL", "presence:alive:" + instance_});
}

}  // namespace nexu::repositories
