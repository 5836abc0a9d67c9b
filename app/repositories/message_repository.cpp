#include "repositories/message_repository.hpp"

#include <algorithm>
#include <thread>

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// How often a resend that found a pending reservation looks again.
constexpr auto kResolvePoll = std::chrono::milliseconds{20};
// Lost takeover races before a resend gives up with unavailable.
constexpr int kMaxTakeovers = 4;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(kDigits[byte >> 4U]);
        out.push_back(kDigits[byte & 0x0FU]);
    }
    return out;
}

// The dedupe document's id: readable, collision-free, no '/' or NUL.
std::string dedupe_key(std::string_view user_id, std::string_view client_id) {
    std::string key{user_id};
    key += '.';
    key += hex(client_id);
    return key;
}

std::string pending_body(const std::string& message_id, std::uint64_t after_seq) {
    return Json{{"state", "pending"},
                {"message_id", message_id},
                {"after_seq", after_seq},
                {"reserved_at_ms", wall_ms()}}
        .dump();
}

Result<ChatMessage> parse_record(std::string_view room_id,
                                 std::uint64_t seq,
                                 const std::string& body) {
    try {
        const auto json = Json::parse(body);
        ChatMessage message;
        message.id = json.at("id").get<std::string>();
        message.room = std::string{room_id};
        message.seq = seq;
        const auto& from = json.at("from");
        message.from = {from.at("id").get<std::string>(), from.at("username").get<std::string>()};
        message.text = json.at("text").get<std::string>();
        message.ts = json.at("ts").get<std::string>();
        message.origin = json.value("origin", "");
        return message;
    } catch (const Json::exception& error) {
        std::string context{"chat log "};
        context += room_id;
        context += ": ";
        context += error.what();
        return fail(Errc::corrupt_object, std::move(context));
    }
}

}  // namespace

nlohmann::json ChatMessage::to_json() const {
    return Json{{"id", id},     {"room", room},
                {"seq", seq},   {"from", {{"id", from.id}, {"username", from.username}}},
                {"text", text}, {"ts", ts}};
}

MessageRepository::MessageRepository(infrastructure::Store& store,
                                     infrastructure::UuidV7Generator& ids,
                                     std::chrono::milliseconds lease)
    : store_(store), ids_(ids), lease_(lease) {}

bool MessageRepository::is_valid_text(std::string_view text) {
    const auto chars = static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
    return chars >= 1 && chars <= kMaxTextChars;
}

std::string MessageRepository::log_collection(std::string_view room_id) {
    std::string name{"_chat_"};
    name += room_id;
    return name;
}

std::string MessageRepository::keys_collection(std::string_view room_id) {
    std::string name{"_chatk_"};
    name += room_id;
    return name;
}

ChatMessage MessageRepository::new_message(std::string_view room_id,
                                           const ChatUser& from,
                                           std::string_view text,
                                           std::string_view origin,
                                           std::string message_id) const {
    ChatMessage message;
    message.id = std::move(message_id);
    message.room = std::string{room_id};
    message.from = from;
    message.text = std::string{text};
    message.ts = RoomRepository::now_timestamp();
    message.origin = std::string{origin};
    return message;
}

std::string MessageRepository::record_of(const ChatMessage& message) {
    Json record{{"id", message.id},
                {"from", {{"id", message.from.id}, {"username", message.from.username}}},
                {"text", message.text},
                {"ts", message.ts}};
    if (!message.origin.empty()) record["origin"] = message.origin;
    return record.dump();
}

Result<ChatMessage> MessageRepository::append(std::string_view room_id,
                                              const ChatUser& from,
                                              std::string_view text,
                                              std::string_view origin,
                                              std::string message_id) {
    auto message = new_message(room_id, from, text, origin, std::move(message_id));
    auto seq = store_.append(log_collection(room_id), record_of(message));
    if (!seq) return tl::make_unexpected(seq.error());
    message.seq = *seq;
    return message;
}

Result<PostedMessage> MessageRepository::post(std::string_view room_id,
                                              const ChatUser& from,
                                              std::string_view text,
                                              std::string_view client_id,
                                              std::string_view origin) {
    auto prepared = prepare(room_id, from, text, client_id, origin);
    if (!prepared) return tl::make_unexpected(prepared.error());
    return complete(room_id, from, text, origin, *prepared);
}

Result<PreparedPost> MessageRepository::prepare(std::string_view room_id,
                                                const ChatUser& from,
                                                std::string_view text,
                                                std::string_view client_id,
                                                std::string_view origin) {
    if (!infrastructure::is_uuid_v7(room_id)) return fail(Errc::not_found, "room id");
    if (!is_valid_text(text)) return fail(Errc::invalid_argument, "text must be 1-4000 characters");
    if (client_id.size() > kMaxClientIdBytes) {
        return fail(Errc::invalid_argument, "client_id is longer than 128 bytes");
    }
    PreparedPost prepared;
    if (client_id.empty()) {
        prepared.message_id = ids_.next();
        return prepared;
    }
    prepared.key = dedupe_key(from.id, client_id);
    auto before = store_.sequence(log_collection(room_id));
    if (!before) return tl::make_unexpected(before.error());
    prepared.message_id = ids_.next();
    prepared.reserved = SteadyClock::now();
    auto reserved = store_.put(keys_collection(room_id), prepared.key,
                               pending_body(prepared.message_id, *before), std::uint64_t{0});
    if (!reserved) {
        if (reserved.error().code != Errc::conflict) return tl::make_unexpected(reserved.error());
        auto resolved = resolve_existing(room_id, prepared.key, from, text, origin);
        if (!resolved) return tl::make_unexpected(resolved.error());
        prepared.done = std::move(*resolved);
        return prepared;
    }
    prepared.rev = reserved->rev;
    return prepared;
}

Result<PostedMessage> MessageRepository::complete(std::string_view room_id,
                                                  const ChatUser& from,
                                                  std::string_view text,
                                                  std::string_view origin,
                                                  const PreparedPost& prepared) {
    if (prepared.done) return *prepared.done;
    if (prepared.key.empty()) {
        auto message = append(room_id, from, text, origin, prepared.message_id);
        if (!message) return tl::make_unexpected(message.error());
        return PostedMessage{std::move(*message), false, {}, 0};
    }
    return commit_reserved(room_id, prepared.key,
                           Reservation{prepared.message_id, prepared.rev, prepared.reserved}, from,
                           text, origin);
}

Result<PostedMessage> MessageRepository::commit_reserved(std::string_view room_id,
                                                         const std::string& key,
                                                         const Reservation& reservation,
                                                         const ChatUser& from,
                                                         std::string_view text,
                                                         std::string_view origin) {
    // Past half the lease a resend may soon take the reservation over:
    // renew it first (compare-and-set on the revision we hold), or, if someone
    // took it over already, answer as they did. Appending on a stale lease
    // could store the message twice.
    Reservation current = reservation;
    if (SteadyClock::now() - current.reserved > lease_ / 2) {
        auto before = store_.sequence(log_collection(room_id));
        if (!before) return tl::make_unexpected(before.error());
        current.reserved = SteadyClock::now();
        auto renewed = store_.put(keys_collection(room_id), key,
                                  pending_body(current.message_id, *before), current.rev);
        if (!renewed) {
            if (renewed.error().code != Errc::conflict) return tl::make_unexpected(renewed.error());
            return resolve_existing(room_id, key, from, text, origin);
        }
        current.rev = renewed->rev;
    }
    auto message = append(room_id, from, text, origin, current.message_id);
    if (!message) return tl::make_unexpected(message.error());
    return PostedMessage{std::move(*message), false, key, current.rev};
}

std::vector<Result<PostedMessage>> MessageRepository::complete_many(
    std::string_view room_id,
    const ChatUser& from,
    std::string_view origin,
    const std::vector<Prepared>& posts) {
    std::vector<std::optional<Result<PostedMessage>>> results(posts.size());
    struct ToAppend {
        std::size_t index = 0;
        ChatMessage message;
        std::string key;
        std::uint64_t rev = 0;
    };
    std::vector<ToAppend> batch;
    // Appends what was gathered, in order, as one commit.
    auto flush = [&] {
        if (batch.empty()) return;
        std::vector<std::string> records;
        records.reserve(batch.size());
        for (const auto& item : batch) records.push_back(record_of(item.message));
        auto first = store_.append_many(log_collection(room_id), std::move(records));
        for (std::size_t i = 0; i < batch.size(); ++i) {
            auto& item = batch[i];
            if (!first) {
                results[item.index] = tl::make_unexpected(first.error());
                continue;
            }
            item.message.seq = *first + i;
            results[item.index] =
                PostedMessage{std::move(item.message), false, std::move(item.key), item.rev};
        }
        batch.clear();
    };
    for (std::size_t i = 0; i < posts.size(); ++i) {
        const auto& prepared = *posts[i].prepared;
        const auto text = posts[i].text;
        if (prepared.done) {
            results[i] = *prepared.done;  // a resend: nothing to append
            continue;
        }
        std::uint64_t rev = prepared.rev;
        if (!prepared.key.empty() && SteadyClock::now() - prepared.reserved > lease_ / 2) {
            // As commit_reserved(): renew a lease past its half before appending.
            auto before = store_.sequence(log_collection(room_id));
            if (!before) {
                results[i] = tl::make_unexpected(before.error());
                continue;
            }
            auto renewed = store_.put(keys_collection(room_id), prepared.key,
                                      pending_body(prepared.message_id, *before), prepared.rev);
            if (!renewed) {
                if (renewed.error().code != Errc::conflict) {
                    results[i] = tl::make_unexpected(renewed.error());
                    continue;
                }
                flush();  // resolving may append: the earlier posts go first
                results[i] = resolve_existing(room_id, prepared.key, from, text, origin);
                continue;
            }
            rev = renewed->rev;
        }
        if (!is_valid_text(text)) {
            results[i] = fail(Errc::invalid_argument, "text must be 1-4000 characters");
            continue;
        }
        batch.push_back(
            {i, new_message(room_id, from, text, origin, prepared.message_id), prepared.key, rev});
    }
    flush();
    std::vector<Result<PostedMessage>> out;
    out.reserve(results.size());
    for (auto& result : results) out.push_back(std::move(*result));
    return out;
}

void MessageRepository::finalize(const PostedMessage& posted) {
    if (posted.dedupe_key.empty() || posted.is_duplicate) return;
    // An optimisation for later resends (they read the seq instead of searching
    // the log); losing it to a crash or a race is safe.
    (void)store_.put(
        keys_collection(posted.message.room), posted.dedupe_key,
        Json{{"state", "committed"}, {"message_id", posted.message.id}, {"seq", posted.message.seq}}
            .dump(),
        posted.reservation_rev);
}

Result<ChatMessage> MessageRepository::read_one(std::string_view room_id, std::uint64_t seq) {
    if (seq == 0) return fail(Errc::corrupt_object, "chat dedupe document names seq 0");
    auto records = store_.read_appended(log_collection(room_id), seq - 1, 1);
    if (!records) return tl::make_unexpected(records.error());
    if (records->empty() || records->front().seq != seq) {
        return fail(Errc::corrupt_object, "chat dedupe document names a missing seq");
    }
    return parse_record(room_id, seq, *records->front().body);
}

Result<std::optional<ChatMessage>> MessageRepository::find_in_log(std::string_view room_id,
                                                                  std::uint64_t after_seq,
                                                                  std::string_view message_id) {
    for (;;) {
        auto records = store_.read_appended(log_collection(room_id), after_seq, kMaxPage);
        if (!records) return tl::make_unexpected(records.error());
        for (const auto& record : *records) {
            auto message = parse_record(room_id, record.seq, *record.body);
            if (!message) return tl::make_unexpected(message.error());
            if (message->id == message_id) return std::optional<ChatMessage>{std::move(*message)};
        }
        if (records->size() < kMaxPage) return std::optional<ChatMessage>{};
        after_seq = records->back().seq;
    }
}

Result<PostedMessage> MessageRepository::resolve_existing(std::string_view room_id,
                                                          const std::string& key,
                                                          const ChatUser& from,
                                                          std::string_view text,
                                                          std::string_view origin) {
    const auto keys = keys_collection(room_id);
    const auto give_up = SteadyClock::now() + 2 * lease_;
    int takeovers = 0;
    for (;;) {
        auto stored = store_.get(keys, key);
        if (!stored) return tl::make_unexpected(stored.error());
        Json state;
        try {
            state = Json::parse(*stored->body);
        } catch (const Json::exception& error) {
            return fail(Errc::corrupt_object, std::string{"chat dedupe document: "} + error.what());
        }
        const auto message_id = state.value("message_id", "");
        if (state.value("state", "") == "committed") {
            auto message = read_one(room_id, state.value("seq", std::uint64_t{0}));
            if (!message) return tl::make_unexpected(message.error());
            return PostedMessage{std::move(*message), true, {}, 0};
        }
        auto found = find_in_log(room_id, state.value("after_seq", std::uint64_t{0}), message_id);
        if (!found) return tl::make_unexpected(found.error());
        if (*found) {
            (void)store_.put(
                keys, key,
                Json{{"state", "committed"}, {"message_id", message_id}, {"seq", (*found)->seq}}
                    .dump(),
                stored->rev);
            return PostedMessage{std::move(**found), true, {}, 0};
        }
        const auto age_ms = wall_ms() - state.value("reserved_at_ms", std::int64_t{0});
        if (age_ms > lease_.count()) {
            // The owner did not append within its lease (it died, or gave up
            // unacknowledged): take the reservation over.
            if (++takeovers > kMaxTakeovers) break;
            auto before = store_.sequence(log_collection(room_id));
            if (!before) return tl::make_unexpected(before.error());
            Reservation reservation{ids_.next(), 0, SteadyClock::now()};
            auto taken =
                store_.put(keys, key, pending_body(reservation.message_id, *before), stored->rev);
            if (taken) {
                reservation.rev = taken->rev;
                return commit_reserved(room_id, key, reservation, from, text, origin);
            }
            if (taken.error().code != Errc::conflict) return tl::make_unexpected(taken.error());
            continue;  // someone else moved it: look again
        }
        if (SteadyClock::now() >= give_up) break;
        std::this_thread::sleep_for(kResolvePoll);
    }
    return fail(Errc::unavailable, "the first send with this client_id is still unresolved");
}

Result<std::vector<ChatMessage>> MessageRepository::after(std::string_view room_id,
                                                          std::uint64_t after_seq,
                                                          std::size_t limit) {
    if (!infrastructure::is_uuid_v7(room_id)) return fail(Errc::not_found, "room id");
    auto records = store_.read_appended(log_collection(room_id), after_seq, limit);
    if (!records) return tl::make_unexpected(records.error());
    std::vector<ChatMessage> messages;
    messages.reserve(records->size());
    for (const auto& record : *records) {
        auto message = parse_record(room_id, record.seq, *record.body);
        if (!message) return tl::make_unexpected(message.error());
        messages.push_back(std::move(*message));
    }
    return messages;
}

Result<std::vector<ChatMessage>> MessageRepository::before(std::string_view room_id,
                                                           std::uint64_t before_seq,
                                                           std::size_t limit,
                                                           std::uint64_t after_seq) {
    if (!infrastructure::is_uuid_v7(room_id)) return fail(Errc::not_found, "room id");
    if (before_seq == 0) {
        auto newest = sequence(room_id);
        if (!newest) return tl::make_unexpected(newest.error());
        before_seq = *newest + 1;
    }
    // The log is gap-free, so the messages just before N are N-limit .. N-1.
    const std::uint64_t last = before_seq - 1;
    std::uint64_t start = last > limit ? last - limit : 0;
    start = std::max(start, after_seq);
    if (start >= last) return std::vector<ChatMessage>{};
    auto messages = after(room_id, start, static_cast<std::size_t>(last - start));
    if (!messages) return messages;
    std::erase_if(*messages, [&](const ChatMessage& m) { return m.seq >= before_seq; });
    return messages;
}

Result<std::uint64_t> MessageRepository::sequence(std::string_view room_id) {
    if (!infrastructure::is_uuid_v7(room_id)) return fail(Errc::not_found, "room id");
    return store_.sequence(log_collection(room_id));
}

Result<std::uint64_t> MessageRepository::wait_for_sequence(std::string_view room_id,
                                                           std::uint64_t after_seq,
                                                           std::chrono::milliseconds timeout) {
    if (!infrastructure::is_uuid_v7(room_id)) return fail(Errc::not_found, "room id");
    return store_.wait_for_sequence(log_collection(room_id), after_seq, timeout);
}

}  // namespace nexu::repositories
