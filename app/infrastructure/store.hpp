#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "domain/error.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/env.hpp"

namespace nexu::infrastructure {

struct StoreSettings {
    std::size_t cache_bytes = 256 * 1024 * 1024;            // decrypted-document cache budget
    std::uint64_t checkpoint_log_bytes = 64 * 1024 * 1024;  // log bytes since the last checkpoint
    std::uint64_t checkpoint_log_records = 100'000;         // ...or records, whichever comes first
    std::size_t segment_bytes = 4 * 1024 * 1024;            // checkpoint segment size
    std::size_t max_group_bytes = 4 * 1024 * 1024;      // one commit file at most (group commit)
    std::chrono::milliseconds sync_interval{100};       // reads see other instances within this
    std::chrono::milliseconds retention_grace{60'000};  // superseded files kept this long
    bool run_maintenance = true;  // background checkpoints, deletion, high-water marks
    std::string instance_id = "nexu";
};

// One document as stored: its revision, the seq of the commit that wrote it,
// and the decrypted body (shared with the cache; never modified).
struct StoredDocument {
    std::uint64_t rev = 0;
    std::uint64_t seq = 0;
    std::shared_ptr<const std::string> body;
};

struct WriteOutcome {
    std::uint64_t rev = 0;  // the document's new revision (the tombstone's after a delete)
    std::uint64_t seq = 0;  // the collection seq of the commit
};

struct ListedDocument {
    std::string id;
    StoredDocument document;
};

struct ListPage {
    std::vector<ListedDocument> items;
    std::string next_cursor;  // empty at the end
};

struct AppendedRecord {
    std::uint64_t seq = 0;
    std::shared_ptr<const std::string> body;
};

// What `nexuctl verify` and the integrity job report.
struct VerifyReport {
    struct Damage {
        std::string collection;
        std::string object;  // a document id or a file name
        std::string reason;
    };
    std::size_t collections = 0;
    std::size_t documents = 0;
    std::size_t commit_files = 0;
    std::vector<Damage> damaged;
};

// What an expected-revision write requires: nullopt = unconditional, 0 = the
// document must not exist, n = it must be at revision n (compare-and-set).
using ExpectedRev = std::optional<std::uint64_t>;

// The encrypted document store on the shared data directory (docs/storage.md):
// per collection an append-only chain of immutable commit files (the exclusive
// create of the next name is the commit point, so instances sharing the
// directory over NFS never issue a seq or revision twice), periodic
// checkpoints, an in-memory index and a bounded cache of decrypted documents.
//
// Thread-safe. Calls block on disk I/O and fsync: call them from worker
// threads, never from io threads. Concurrent writers to one collection share
// one fsync (group commit). A write is acknowledged (returns a value) only
// after the commit file and its directory entry are durable; any error means
// the write was not acknowledged and the previous revision stays readable.
//
// Errors: not_found, conflict ("current revision N", see current_revision_of),
// corrupt_object (names the collection and file or document), unavailable
// (ENOSPC, EDQUOT, ESTALE after retries, too many lost races), io_error,
// invalid_argument (bad collection name or id). No exceptions escape.
class Store {
public:
    // Opens (creating on first use) the store in `data_dir`; keeps high-water
    // marks under `state_dir` (local, not shared). On first open seals a key
    // check object; later opens fail with Errc::invalid_argument "key does not
    // decrypt the data directory" when the key is wrong. `env` and `crypto`
    // must outlive the store.
    static Result<std::unique_ptr<Store>> open(Env& env,
                                               const std::filesystem::path& data_dir,
                                               const std::filesystem::path& state_dir,
                                               const Crypto& crypto,
                                               StoreSettings settings);
    virtual ~Store() = default;

    // ---- documents ----
    virtual Result<StoredDocument> get(std::string_view collection, std::string_view id) = 0;
    // Creates or replaces; see ExpectedRev.
    virtual Result<WriteOutcome> put(std::string_view collection,
                                     std::string_view id,
                                     std::string body,
                                     ExpectedRev expected = std::nullopt) = 0;
    // Errc::not_found when absent.
    virtual Result<WriteOutcome> remove(std::string_view collection,
                                        std::string_view id,
                                        ExpectedRev expected = std::nullopt) = 0;
    // Documents in id order after `cursor` (opaque; empty = from the start).
    virtual Result<ListPage> list(std::string_view collection,
                                  std::string_view cursor,
                                  std::size_t limit) = 0;
    // Every live document with id > `after_id`, in id order, without
    // materialising the collection (batches through the cache). The visitor
    // returns false to stop. Each document is seen at a revision at least as
    // new as when the scan started.
    using Visitor = std::function<bool(std::string_view id, const StoredDocument&)>;
    virtual Result<void> scan(std::string_view collection,
                              std::string_view after_id,
                              const Visitor& visit) = 0;
    virtual Result<std::size_t> count(std::string_view collection) = 0;
    // Catches up with other instances' commits now instead of within the sync
    // interval: for a miss that may be another instance's fresh write (a user
    // registered there a moment ago).
    virtual Result<void> sync(std::string_view collection) = 0;

    // ---- the change sequence (chat) ----
    // Appends a record and returns its seq: gap-free and ordered across
    // instances, because it is the seq of the commit file we won.
    virtual Result<std::uint64_t> append(std::string_view collection, std::string body) = 0;
    // Appends `bodies` (at least one) as one commit: all of them or none are
    // stored, with consecutive seqs in the given order. Returns the first
    // seq (the last is first + size - 1). One fsync for the lot, so a caller
    // holding several records (a chat connection's waiting sends) pays one
    // durable commit instead of one each. invalid_argument when empty.
    virtual Result<std::uint64_t> append_many(std::string_view collection,
                                              std::vector<std::string> bodies) = 0;
    // Appended records with seq > after_seq, in seq order, at most `limit`.
    virtual Result<std::vector<AppendedRecord>> read_appended(std::string_view collection,
                                                              std::uint64_t after_seq,
                                                              std::size_t limit) = 0;
    // The collection's newest seq after catching up with other instances.
    virtual Result<std::uint64_t> sequence(std::string_view collection) = 0;
    // Blocks until the seq passes `after_seq` or `timeout` passes (polling the
    // shared directory every sync interval); returns the seq seen.
    virtual Result<std::uint64_t> wait_for_sequence(std::string_view collection,
                                                    std::uint64_t after_seq,
                                                    std::chrono::milliseconds timeout) = 0;

    // ---- operations ----
    // Names of the collections in the data directory (candidates from readdir).
    virtual Result<std::vector<std::string>> collections() = 0;
    // Writes a checkpoint of `collection` now (the maintenance thread does it
    // when the log passes the thresholds).
    virtual Result<void> checkpoint(std::string_view collection) = 0;
    // Deletes superseded commit files, checkpoints and old temp files whose
    // grace period has passed; returns how many files were removed.
    virtual Result<std::size_t> collect_garbage() = 0;
    // Writes the local high-water marks now (the maintenance thread does it
    // every sync interval and at close).
    virtual Result<void> save_high_water_marks() = 0;
    // Decrypts and checks every object of every collection, bypassing the cache.
    virtual Result<VerifyReport> verify() = 0;
    // Re-reads the key check object: the /ready probe for "key opens this data dir".
    virtual Result<void> check_key() = 0;

    // ---- key rotation (docs/storage.md "Key rotation") ----
    // Writes a checkpoint of `collection` under the current key version when
    // its published checkpoint or any commit file after it is sealed under an
    // older one (a quiet collection first gets a one-record commit: a
    // tombstone of a reserved id, invisible to every reader). Returns whether
    // it wrote one. The files it supersedes go with collect_garbage().
    virtual Result<bool> rekey(std::string_view collection) = 0;
    // Re-seals the key check object under the current key version (same
    // data-directory id) if it uses an older one. Returns whether it did.
    virtual Result<bool> rekey_key_check() = 0;
    virtual std::size_t cache_used_bytes() const = 0;
};

// Whether `crypto`'s key opens the data directory at `data_dir`: reads the
// sealed key check object written at first open. Errc::invalid_argument with
// "key does not decrypt the data directory" when it does not, Errc::not_found
// when the directory has no key check yet (never opened), I/O errors as usual.
Result<void> check_data_dir_key(Env& env,
                                const std::filesystem::path& data_dir,
                                const Crypto& crypto);

// The store's settings from the server's Config (NEXU_CACHE_BYTES,
// NEXU_CHECKPOINT_LOG_BYTES, NEXU_CHECKPOINT_LOG_RECORDS, NEXU_RETENTION_GRACE_MS,
// NEXU_SYNC_INTERVAL_MS, NEXU_INSTANCE_ID).
StoreSettings store_settings_from(const config::Config& config);

// The current revision carried by a conflict error, if any.
std::optional<std::uint64_t> current_revision_of(const Error& error);

}  // namespace nexu::infrastructure
