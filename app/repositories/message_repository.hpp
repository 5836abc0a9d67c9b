#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "infrastructure/store.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/room_repository.hpp"

namespace nexu::repositories {

struct ChatMessage {
    std::string id;  // UUIDv7
    std::string room;
    std::uint64_t seq = 0;  // the room log's own seq: 1, 2, 3... across every instance
    ChatUser from;
    std::string text;
    std::string ts;      // RFC 3339 UTC with milliseconds
    std::string origin;  // which connection sent it ("" for REST); never shown to clients

    // {"id","room","seq","from":{"id","username"},"text","ts"}
    nlohmann::json to_json() const;
};

struct PostedMessage {
    ChatMessage message;
    bool is_duplicate = false;  // a client_id resend: the first message, not stored again
    // Set when the dedupe document still says pending: finalize() records the seq.
    std::string dedupe_key;
    std::uint64_t reservation_rev = 0;
};

// A post split in two (prepare, then complete) so that a connection can
// reserve its next client_id while its previous message is being appended,
// and still append in the order the client sent.
struct PreparedPost {
    std::optional<PostedMessage> done;  // resolved already (a resend), nothing to append
    std::string message_id;
    std::string key;  // the dedupe document; empty without a client_id
    std::uint64_t rev = 0;
    std::chrono::steady_clock::time_point reserved{};
};

// The messages of each chat room, as that room's append-only log in the
// store (collection `_chat_<room id>`): a message's seq is the seq of the
// commit file that holds it, so it is gap-free and totally ordered across
// instances by construction, and the store encrypts it at rest.
//
// client_id idempotency (same user, same room, same client_id: stored once,
// acked with the first message's id and seq, on any instance, after any
// crash). The store has no conditional append, so a dedupe document in
// `_chatk_<room id>` keyed by (user, client_id) is created exclusively
// before the append (the exclusive create is atomic across instances):
//   1. create {pending, message id M, room seq S0 before, reserved at}: the
//      winner owns the client_id; a loser goes to 4.
//   2. if more than half the lease has passed since step 1, renew it (CAS on
//      the revision we hold; losing means a resend took over: answer as 4);
//      then append the message (id M) to the log.
//   3. replace the dedupe document with {committed, M, seq} (CAS): finalize(),
//      which callers run after acknowledging, to keep one fsync off the ack.
//   4. a loser reads the dedupe document: committed -> ack the first message;
//      pending -> look for M in the log after S0 (crash after 2, before 3):
//      found -> finalise it and ack it; not found while the lease runs -> the
//      owner may still be appending: wait (bounded); not found after the lease
//      -> the owner died before appending: take the reservation over by CAS
//      with a new message id and go to 2.
// Crash windows: before 1 or between 1 and 2: nothing stored, the resend
// takes over after the lease. Between 2 and 3: the message is stored, the
// resend finds it in the log. After 3: the resend reads the document. The
// one residual risk is an owner that stalls (a SIGSTOP, a VM pause) for
// longer than half the lease between its lease check and its append while a
// resend takes over: the same class of failure as the paused writer of
// DESIGN-NOTES §3.6, bounded by the lease (default 5 s).
//
// Thread-safe; calls block on disk (and a contended resend may wait up to
// the lease): call from worker threads only. Errors: invalid_argument (text
// empty or over 4000 characters, client_id over 128 bytes), not_found
// (malformed room id), unavailable (a resend whose first send stays unresolved for twice the
// lease), store errors.
class MessageRepository {
public:
    static constexpr std::size_t kMaxTextChars = 4000;
    static constexpr std::size_t kMaxClientIdBytes = 128;
    static constexpr std::size_t kMaxPage = 1000;

    MessageRepository(infrastructure::Store& store,
                      infrastructure::UuidV7Generator& ids,
                      std::chrono::milliseconds lease = std::chrono::milliseconds{5000});

    // Stores a message (after the idempotency check when client_id is not
    // empty) and returns it with its seq. `origin` is kept with the message
    // so that the sending connection can be skipped when it is fanned out.
    Result<PostedMessage> post(std::string_view room_id,
                               const ChatUser& from,
                               std::string_view text,
                               std::string_view client_id,
                               std::string_view origin = {});

    // post() in two steps: prepare() validates and takes the client_id
    // reservation (steps 1 and 4), complete() appends (step 2). Complete a
    // prepared post within half the lease or it fails unacknowledged.
    Result<PreparedPost> prepare(std::string_view room_id,
                                 const ChatUser& from,
                                 std::string_view text,
                                 std::string_view client_id,
                                 std::string_view origin = {});
    Result<PostedMessage> complete(std::string_view room_id,
                                   const ChatUser& from,
                                   std::string_view text,
                                   std::string_view origin,
                                   const PreparedPost& prepared);

    // complete() for several prepared posts of one sender to one room, in
    // order: the ones to append go to the log in one commit (one fsync,
    // consecutive seqs, in the given order; Store::append_many), resends
    // resolved by prepare() are answered as they were. One result per post,
    // in the same order. A reservation past half its lease is renewed first,
    // as complete() does; when a resend took it over meanwhile, the posts
    // before it are appended first so that the order still holds.
    struct Prepared {
        std::string_view text;
        const PreparedPost* prepared = nullptr;
    };
    std::vector<Result<PostedMessage>> complete_many(std::string_view room_id,
                                                     const ChatUser& from,
                                                     std::string_view origin,
                                                     const std::vector<Prepared>& posts);

    // Step 3 above for a post() that reserved a client_id: records the seq in
    // the dedupe document so later resends need not search the log. Skipping
    // it (a crash) is safe. No-op for other posts.
    void finalize(const PostedMessage& posted);

    // Messages with seq > after_seq in seq order, at most `limit`.
    Result<std::vector<ChatMessage>> after(std::string_view room_id,
                                           std::uint64_t after_seq,
                                           std::size_t limit);
    // The `limit` messages just before `before_seq` (0: the newest), in seq
    // order, none at or below `after_seq`.
    Result<std::vector<ChatMessage>> before(std::string_view room_id,
                                            std::uint64_t before_seq,
                                            std::size_t limit,
                                            std::uint64_t after_seq = 0);
    // The room's newest seq, caught up with other instances.
    Result<std::uint64_t> sequence(std::string_view room_id);
    // Blocks until the room's seq passes after_seq or the timeout passes.
    Result<std::uint64_t> wait_for_sequence(std::string_view room_id,
                                            std::uint64_t after_seq,
                                            std::chrono::milliseconds timeout);

    // Whether `text` is 1..4000 code points (the rule for every chat text).
    static bool is_valid_text(std::string_view text);
    static std::string log_collection(std::string_view room_id);
    static std::string keys_collection(std::string_view room_id);

private:
    struct Reservation {
        std::string message_id;
        std::uint64_t rev = 0;  // the dedupe document's revision we hold
        std::chrono::steady_clock::time_point reserved;
    };
    ChatMessage new_message(std::string_view room_id,
                            const ChatUser& from,
                            std::string_view text,
                            std::string_view origin,
                            std::string message_id) const;
    static std::string record_of(const ChatMessage& message);
    Result<ChatMessage> append(std::string_view room_id,
                               const ChatUser& from,
                               std::string_view text,
                               std::string_view origin,
                               std::string message_id);
    Result<PostedMessage> commit_reserved(std::string_view room_id,
                                          const std::string& key,
                                          const Reservation& reservation,
                                          const ChatUser& from,
                                          std::string_view text,
                                          std::string_view origin);
    Result<PostedMessage> resolve_existing(std::string_view room_id,
                                           const std::string& key,
                                           const ChatUser& from,
                                           std::string_view text,
                                           std::string_view origin);
    Result<std::optional<ChatMessage>> find_in_log(std::string_view room_id,
                                                   std::uint64_t after_seq,
                                                   std::string_view message_id);
    Result<ChatMessage> read_one(std::string_view room_id, std::uint64_t seq);

    infrastructure::Store& store_;
    infrastructure::UuidV7Generator& ids_;
    std::chrono::milliseconds lease_;
};

}  // namespace nexu::repositories
