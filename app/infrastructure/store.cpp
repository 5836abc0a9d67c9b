#include "infrastructure/store.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "config/metrics.hpp"
#include "config/timing.hpp"
#include "infrastructure/document_cache.hpp"
#include "infrastructure/key_versions.hpp"
#include "infrastructure/storage_format.hpp"

namespace nexu::infrastructure {

namespace sf = storage_format;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kScanBatch = 256;
constexpr int kStaleRetries = 4;
// Losing the exclusive create this often in a row means something is wrong
// (or another instance's name cache is stale for longer than we wait).
constexpr auto kRaceBudget = std::chrono::seconds{10};
// How often a running store re-reads the key version markers (keys/).
constexpr auto kKeyPollInterval = std::chrono::seconds{1};
// The id of the rotation marker tombstone (Store::rekey). The data API
// refuses control characters in ids, so no client document can hold it.
constexpr std::string_view kRekeyMarkerId = "\x01nexu-key-rotation";

// Retries a read-side call that failed with ESTALE: the next attempt opens the
// path again, which re-resolves it (DESIGN-NOTES §3 rule 5).
template <class F>
auto with_stale_retries(F&& fn) -> decltype(fn()) {
    auto result = fn();
    for (int attempt = 1; attempt < kStaleRetries && !result && is_stale_handle(result.error());
         ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds{5 * attempt});
        result = fn();
    }
    return result;
}

std::string hex_encode(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(kDigits[byte >> 4]);
        out.push_back(kDigits[byte & 15]);
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 2);
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int high = nibble(text[i]);
        const int low = nibble(text[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        out.push_back(static_cast<char>(high * 16 + low));
    }
    return out;
}

Error with_context(Error error, const std::string& prefix) {
    error.context = prefix + ": " + error.context;
    return error;
}

// Where the current revision of a document is stored.
struct Location {
    bool in_log = true;
    std::uint32_t key_id = 0;  // checkpoint documents: the index's key id
    std::uint32_t part = 0;
    std::uint32_t length = 0;
    std::uint64_t file = 0;    // commit file's first seq, or checkpoint seq
    std::uint64_t offset = 0;  // record number in the commit file, or byte offset
};

struct Slot {
    std::uint64_t rev = 0;
    std::uint64_t seq = 0;
    bool is_deleted = false;
    Location location;
};

struct PendingWrite {
    sf::RecordOp op;
    std::string id;
    ExpectedRev expected;
    std::string body;
    std::optional<Result<WriteOutcome>> result;  // written by the leader only
    bool is_done = false;                        // under queue_mutex_: result is final
    bool is_marker = false;  // rekey: a tombstone of kRekeyMarkerId, written even if absent
    // append_many: records appended after `body` in the same commit, in order.
    std::vector<std::string> more_bodies{};
};

// The bytes a write adds to a commit file (for the group size bound).
std::size_t write_bytes(const PendingWrite& write) {
    std::size_t bytes = write.body.size() + write.id.size();
    for (const auto& body : write.more_bodies) bytes += body.size();
    return bytes;
}

}  // namespace

class StoreImpl;

// One collection's view: index, seq, damage. Internal to the store.
class Collection {
public:
    // `caches_bodies` false: a verifier view that leaves the shared cache alone.
    Collection(StoreImpl& store, std::string name, std::uint32_t number, bool caches_bodies = true);

    Result<void> ensure_loaded();
    // `only_if_stale`: skip when another thread caught up within the sync interval.
    Result<void> catch_up(bool only_if_stale = false);
    Result<void> maybe_sync();
    Result<WriteOutcome> write(PendingWrite& write);
    Result<StoredDocument> get(std::string_view id);
    Result<void> scan(std::string_view after_id, const Store::Visitor& visit);
    Result<std::uint64_t> sequence();
    Result<std::uint64_t> wait_for_sequence(std::uint64_t after_seq,
                                            std::chrono::milliseconds timeout);
    Result<void> checkpoint(bool only_if_due);
    Result<std::size_t> collect_garbage();
    Result<void> save_high_water_mark();
    void verify(VerifyReport& report);
    Result<bool> rekey();
    std::size_t live_count() const;
    const std::string& name() const { return name_; }

private:
    // Reads files for documents; keeps the last commit file and segment it
    // read, so a scan reads each file once.
    class SourceReader {
    public:
        SourceReader(Collection& owner, bool bulk) : owner_(owner), bulk_(bulk) {}
        Result<std::shared_ptr<const std::string>> fetch(std::string_view id, const Slot& slot);

    private:
        Collection& owner_;
        bool bulk_;
        std::uint64_t log_first_ = 0;
        std::vector<sf::Record> log_records_;
        std::pair<std::uint64_t, std::uint32_t> segment_key_{0, 0};
        std::string segment_;
    };

    Result<std::optional<std::uint64_t>> read_current();
    Result<void> absorb_checkpoint(std::uint64_t seq);
    void apply(std::vector<sf::Record>& records,
               std::uint64_t first_seq,
               std::uint64_t file_bytes,
               bool cache_bodies,
               std::uint32_t key_id);
    Result<void> ensure_dirs();
    void commit_batch(std::vector<PendingWrite*>& batch);
    Result<void> check_damage() const;
    bool is_fresh() const;
    Result<std::shared_ptr<const std::string>> fetch_fresh(std::string_view id, Slot& slot);
    std::string cache_key(std::string_view id) const;
    void set_damage(Error error);
    Result<void> detect_gaps();

    StoreImpl& store_;
    std::string name_;
    std::uint32_t number_;
    bool caches_bodies_;
    fs::path dir_;
    fs::path log_dir_;
    fs::path checkpoint_dir_;

    std::mutex load_mutex_;
    std::atomic<bool> is_loaded_{false};
    std::atomic<bool> has_dirs_{false};  // the leader and a checkpoint may both create them

    std::mutex commit_mutex_;  // held by the group-commit leader while it commits
    std::mutex queue_mutex_;   // writers waiting for the next group
    std::condition_variable queue_changed_;
    std::vector<PendingWrite*> queue_;
    bool has_leader_ = false;
    std::mutex sync_mutex_;        // one catch-up at a time
    std::mutex checkpoint_mutex_;  // one checkpoint at a time

    mutable std::shared_mutex state_mutex_;
    std::map<std::string, Slot, std::less<>> index_;
    std::uint64_t last_seq_ = 0;
    std::uint64_t checkpoint_seq_ = 0;
    std::uint64_t log_bytes_since_checkpoint_ = 0;
    std::uint64_t log_records_since_checkpoint_ = 0;
    std::size_t live_count_ = 0;
    std::optional<Error> damage_;
    std::uint32_t checkpoint_key_id_ = 0;              // of the checkpoint we absorbed last
    std::map<std::uint64_t, std::uint32_t> log_keys_;  // commit files after it: first seq → key id

    std::atomic<std::int64_t> last_sync_ns_{0};
    std::mutex seq_mutex_;
    std::condition_variable seq_changed_;

    std::mutex maintenance_mutex_;
    std::uint64_t high_water_saved_ = 0;
    std::uint64_t gc_checkpoint_seq_ = 0;
    Clock::time_point gc_seen_at_{};
};

class StoreImpl final : public Store {
public:
    StoreImpl(Env& env,
              fs::path data_dir,
              fs::path state_dir,
              const Crypto& crypto,
              StoreSettings settings)
        : env_(env),
          data_dir_(std::move(data_dir)),
          state_root_(std::move(state_dir)),
          crypto_(crypto),
          settings_(std::move(settings)),
          cache_(settings_.cache_bytes) {}

    ~StoreImpl() override {
        {
            std::lock_guard lock{stop_mutex_};
            is_stopping_ = true;
        }
        stop_changed_.notify_all();
        if (maintenance_.joinable()) maintenance_.join();
        (void)save_high_water_marks();
    }

    Result<void> start() {
        // New directories are durable only once their parent is synced.
        for (const auto& dir : {data_dir_, state_root_}) {
            if (auto made = env_.make_dir(dir); !made) return made;
            const auto parent = dir.has_parent_path() ? dir.parent_path() : fs::path{"."};
            if (auto synced = env_.sync_dir(parent); !synced) return synced;
        }
        // Before anything is sealed: the current key version may be newer
        // than the one this process started with (nexuctl rotate-key).
        if (auto versions = apply_key_versions(env_, data_dir_, crypto_); !versions)
            return tl::make_unexpected(versions.error());
        auto directory_id = load_or_create_key_check();
        if (!directory_id) return tl::make_unexpected(directory_id.error());
        state_dir_ = state_root_ / hex_encode(*directory_id);
        if (auto made = env_.make_dir(state_dir_); !made) return made;
        if (auto synced = env_.sync_dir(state_root_); !synced) return synced;
        if (settings_.run_maintenance) maintenance_ = std::thread{[this] { maintenance_loop(); }};
        return {};
    }

    Result<StoredDocument> get(std::string_view collection, std::string_view id) override {
        return config::timed("store_get", [&]() -> Result<StoredDocument> {
            auto coll = find(collection, id);
            if (!coll) return tl::make_unexpected(coll.error());
            return (*coll)->get(id);
        });
    }

    Result<WriteOutcome> put(std::string_view collection,
                             std::string_view id,
                             std::string body,
                             ExpectedRev expected) override {
        return config::timed("store_put", [&]() -> Result<WriteOutcome> {
            auto coll = find(collection, id);
            if (!coll) return tl::make_unexpected(coll.error());
            PendingWrite write{
                sf::RecordOp::put, std::string{id}, expected, std::move(body), {}, false};
            return (*coll)->write(write);
        });
    }

    Result<WriteOutcome> remove(std::string_view collection,
                                std::string_view id,
                                ExpectedRev expected) override {
        return config::timed("store_remove", [&]() -> Result<WriteOutcome> {
            auto coll = find(collection, id);
            if (!coll) return tl::make_unexpected(coll.error());
            PendingWrite write{sf::RecordOp::remove, std::string{id}, expected, {}, {}, false};
            return (*coll)->write(write);
        });
    }

    Result<ListPage> list(std::string_view collection,
                          std::string_view cursor,
                          std::size_t limit) override {
        return config::timed("store_list", [&]() -> Result<ListPage> {
            auto after = hex_decode(cursor);
            if (!after) return fail(Errc::invalid_argument, "malformed cursor");
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            ListPage page;
            bool has_more = false;
            auto scanned =
                (*coll)->scan(*after, [&](std::string_view id, const StoredDocument& doc) {
                    if (page.items.size() == limit) {
                        has_more = true;
                        return false;
                    }
                    page.items.push_back(ListedDocument{std::string{id}, doc});
                    return true;
                });
            if (!scanned) return tl::make_unexpected(scanned.error());
            if (has_more && !page.items.empty())
                page.next_cursor = hex_encode(page.items.back().id);
            return page;
        });
    }

    Result<void> scan(std::string_view collection,
                      std::string_view after_id,
                      const Visitor& visit) override {
        return config::timed("store_scan", [&]() -> Result<void> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            return (*coll)->scan(after_id, visit);
        });
    }

    Result<std::size_t> count(std::string_view collection) override {
        return config::timed("store_count", [&]() -> Result<std::size_t> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            if (auto synced = (*coll)->maybe_sync(); !synced)
                return tl::make_unexpected(synced.error());
            return (*coll)->live_count();
        });
    }

    Result<std::uint64_t> append(std::string_view collection, std::string body) override {
        return config::timed("store_append", [&]() -> Result<std::uint64_t> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            PendingWrite write{sf::RecordOp::append, {}, std::nullopt, std::move(body), {}, false};
            auto outcome = (*coll)->write(write);
            if (!outcome) return tl::make_unexpected(outcome.error());
            return outcome->seq;
        });
    }

    Result<std::uint64_t> append_many(std::string_view collection,
                                      std::vector<std::string> bodies) override {
        return config::timed("store_append_many", [&]() -> Result<std::uint64_t> {
            if (bodies.empty()) return fail(Errc::invalid_argument, "append_many: no records");
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            PendingWrite write{sf::RecordOp::append, {}, std::nullopt, std::move(bodies.front()),
                               {}, false};
            write.more_bodies.reserve(bodies.size() - 1);
            for (std::size_t i = 1; i < bodies.size(); ++i) {
                write.more_bodies.push_back(std::move(bodies[i]));
            }
            auto outcome = (*coll)->write(write);
            if (!outcome) return tl::make_unexpected(outcome.error());
            return outcome->seq;
        });
    }

    Result<std::vector<AppendedRecord>> read_appended(std::string_view collection,
                                                      std::uint64_t after_seq,
                                                      std::size_t limit) override {
        return config::timed("store_read_appended", [&]() -> Result<std::vector<AppendedRecord>> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            std::vector<AppendedRecord> records;
            if (limit == 0) return records;
            auto scanned = (*coll)->scan(sf::appended_id(after_seq),
                                         [&](std::string_view id, const StoredDocument& doc) {
                                             // Only appended records have 20-digit ids equal to
                                             // their seq.
                                             if (id != sf::appended_id(doc.seq)) return true;
                                             records.push_back(AppendedRecord{doc.seq, doc.body});
                                             return records.size() < limit;
                                         });
            if (!scanned) return tl::make_unexpected(scanned.error());
            return records;
        });
    }

    Result<std::uint64_t> sequence(std::string_view collection) override {
        return config::timed("store_sequence", [&]() -> Result<std::uint64_t> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            return (*coll)->sequence();
        });
    }

    Result<std::uint64_t> wait_for_sequence(std::string_view collection,
                                            std::uint64_t after_seq,
                                            std::chrono::milliseconds timeout) override {
        auto coll = find(collection);
        if (!coll) return tl::make_unexpected(coll.error());
        return (*coll)->wait_for_sequence(after_seq, timeout);
    }

    Result<std::vector<std::string>> collections() override {
        return config::timed("store_collections", [&]() -> Result<std::vector<std::string>> {
            auto names = with_stale_retries([&] { return env_.list_dir(data_dir_); });
            if (!names) return tl::make_unexpected(names.error());
            std::vector<std::string> out;
            for (auto& name : *names) {
                if (!sf::is_valid_collection_name(name)) continue;
                auto info = env_.stat(data_dir_ / name / sf::kLogDir);
                if (info) out.push_back(std::move(name));
            }
            std::sort(out.begin(), out.end());
            return out;
        });
    }

    Result<void> checkpoint(std::string_view collection) override {
        return config::timed("store_checkpoint", [&]() -> Result<void> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            return (*coll)->checkpoint(false);
        });
    }

    Result<std::size_t> collect_garbage() override {
        return config::timed("store_collect_garbage", [&]() -> Result<std::size_t> {
            std::size_t removed = 0;
            for (Collection* coll : open_collections()) {
                auto done = coll->collect_garbage();
                if (!done) return tl::make_unexpected(done.error());
                removed += *done;
            }
            return removed;
        });
    }

    Result<void> save_high_water_marks() override {
        return config::timed("store_save_high_water_marks", [&]() -> Result<void> {
            Result<void> outcome;
            for (Collection* coll : open_collections()) {
                if (auto saved = coll->save_high_water_mark(); !saved && outcome) outcome = saved;
            }
            return outcome;
        });
    }

    Result<VerifyReport> verify() override;

    Result<void> sync(std::string_view collection) override {
        return config::timed("store_sync", [&]() -> Result<void> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            return (*coll)->catch_up();
        });
    }

    Result<void> check_key() override {
        return config::timed("store_check_key",
                             [&] { return check_data_dir_key(env_, data_dir_, crypto_); });
    }

    std::size_t cache_used_bytes() const override { return cache_.used_bytes(); }

    Result<bool> rekey(std::string_view collection) override {
        return config::timed("store_rekey", [&]() -> Result<bool> {
            auto coll = find(collection);
            if (!coll) return tl::make_unexpected(coll.error());
            return (*coll)->rekey();
        });
    }

    Result<bool> rekey_key_check() override;

    // Shared with Collection.
    Env& env() { return env_; }
    const Crypto& crypto() const { return crypto_; }
    const StoreSettings& settings() const { return settings_; }
    DocumentCache& cache() { return cache_; }
    const fs::path& data_dir() const { return data_dir_; }
    const fs::path& state_dir() const { return state_dir_; }
    std::string temp_tag() const {
        return settings_.instance_id + "-" + std::to_string(::getpid());
    }

private:
    Result<std::string> load_or_create_key_check();
    void maintenance_loop();

    Result<Collection*> find(std::string_view collection, std::string_view id) {
        if (!sf::is_valid_document_id(id))
            return fail(Errc::invalid_argument, "invalid document id");
        return find(collection);
    }

    Result<Collection*> find(std::string_view collection) {
        if (!sf::is_valid_collection_name(collection)) {
            return fail(Errc::invalid_argument, "invalid collection name");
        }
        Collection* coll = nullptr;
        {
            std::shared_lock lock{collections_mutex_};
            const auto found = collections_.find(collection);
            if (found != collections_.end()) coll = found->second.get();
        }
        if (coll == nullptr) {
            std::unique_lock lock{collections_mutex_};
            auto& slot = collections_[std::string{collection}];
            if (!slot) {
                slot =
                    std::make_unique<Collection>(*this, std::string{collection},
                                                 static_cast<std::uint32_t>(collections_.size()));
            }
            coll = slot.get();
        }
        if (auto loaded = coll->ensure_loaded(); !loaded)
            return tl::make_unexpected(loaded.error());
        return coll;
    }

    std::vector<Collection*> open_collections() {
        std::shared_lock lock{collections_mutex_};
        std::vector<Collection*> out;
        for (auto& [name, coll] : collections_) out.push_back(coll.get());
        return out;
    }

    Env& env_;
    fs::path data_dir_;
    fs::path state_root_;
    fs::path state_dir_;
    const Crypto& crypto_;
    StoreSettings settings_;
    DocumentCache cache_;

    std::shared_mutex collections_mutex_;
    std::map<std::string, std::unique_ptr<Collection>, std::less<>> collections_;

    std::mutex stop_mutex_;
    std::condition_variable stop_changed_;
    bool is_stopping_ = false;
    std::thread maintenance_;
};

// ---------------------------------------------------------------------------
// Collection

Collection::Collection(StoreImpl& store, std::string name, std::uint32_t number, bool caches_bodies)
    : store_(store),
      name_(std::move(name)),
      number_(number),
      caches_bodies_(caches_bodies),
      dir_(store.data_dir() / name_),
      log_dir_(dir_ / sf::kLogDir),
      checkpoint_dir_(dir_ / sf::kCheckpointDir) {}

std::string Collection::cache_key(std::string_view id) const {
    std::string key = std::to_string(number_);
    key.push_back('/');
    key.append(id);
    return key;
}

std::size_t Collection::live_count() const {
    std::shared_lock lock{state_mutex_};
    return live_count_;
}

void Collection::set_damage(Error error) {
    std::unique_lock lock{state_mutex_};
    if (!damage_) {
        spdlog::error("store: collection={} damaged: {}", name_, error.context);
        damage_ = Error{Errc::corrupt_object, "collection " + name_ + ": " + error.context};
    }
}

Result<void> Collection::check_damage() const {
    std::shared_lock lock{state_mutex_};
    if (damage_) return tl::make_unexpected(*damage_);
    return {};
}

Result<void> Collection::ensure_loaded() {
    if (is_loaded_.load(std::memory_order_acquire)) return {};  // the hot path takes no lock
    std::lock_guard lock{load_mutex_};
    if (is_loaded_) return {};
    if (auto caught = catch_up(); !caught) {
        if (caught.error().code != Errc::corrupt_object) return caught;
        is_loaded_ = true;  // damage is recorded; reads report it
        return {};
    }
    // Rollback: this instance once saw a higher seq than the directory holds.
    auto mark = store_.env().read_file(store_.state_dir() / (name_ + ".hwm"));
    if (mark) {
        const auto seen = sf::decode_current(*mark);
        std::uint64_t last = 0;
        {
            std::shared_lock state{state_mutex_};
            last = last_seq_;
        }
        if (seen && *seen > last) {
            set_damage(Error{Errc::corrupt_object,
                             "rollback detected: this instance saw seq " + std::to_string(*seen) +
                                 ", the data directory ends at " + std::to_string(last)});
        }
        if (seen) {
            std::lock_guard maintenance{maintenance_mutex_};
            high_water_saved_ = std::max(high_water_saved_, *seen);
        }
    } else if (mark.error().code != Errc::not_found) {
        return tl::make_unexpected(mark.error());
    }
    if (auto gaps = detect_gaps(); !gaps && gaps.error().code != Errc::corrupt_object) return gaps;
    is_loaded_ = true;
    return {};
}

// A commit file beyond the end of the chain means files in between are
// missing (deleted, renamed): the listing only finds the candidate, and the
// chain is walked again before calling it damage.
Result<void> Collection::detect_gaps() {
    auto names = with_stale_retries([&] { return store_.env().list_dir(log_dir_); });
    if (!names)
        return names.error().code == Errc::not_found ? Result<void>{}
                                                     : tl::make_unexpected(names.error());
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::uint64_t last = 0;
        {
            std::shared_lock state{state_mutex_};
            last = last_seq_;
        }
        std::optional<std::uint64_t> beyond;
        for (const auto& name : *names) {
            const auto parsed = sf::parse_file_name(name);
            if (parsed && parsed->kind == sf::FileKind::commit && parsed->seq > last + 1) {
                beyond = parsed->seq;
            }
        }
        if (!beyond) return {};
        if (attempt == 0) {
            if (auto caught = catch_up(); !caught) return caught;
            continue;
        }
        Error gap{Errc::corrupt_object,
                  "commit files missing before " + sf::commit_file_name(*beyond)};
        set_damage(gap);
        return tl::make_unexpected(gap);
    }
    return {};
}

Result<std::optional<std::uint64_t>> Collection::read_current() {
    auto text = with_stale_retries([&] { return store_.env().read_file(dir_ / sf::kCurrentName); });
    if (!text) {
        if (text.error().code == Errc::not_found) return std::optional<std::uint64_t>{};
        return tl::make_unexpected(text.error());
    }
    const auto seq = sf::decode_current(*text);
    if (!seq) return fail(Errc::corrupt_object, "CURRENT is malformed");
    return std::optional<std::uint64_t>{*seq};
}

Result<void> Collection::absorb_checkpoint(std::uint64_t seq) {
    const auto path = checkpoint_dir_ / sf::checkpoint_index_name(seq);
    auto bytes = with_stale_retries([&] { return store_.env().read_file(path); });
    if (!bytes) {
        if (bytes.error().code == Errc::not_found) {
            return fail(Errc::corrupt_object,
                        "CURRENT names a missing checkpoint " + path.filename().string());
        }
        return tl::make_unexpected(bytes.error());
    }
    auto index = sf::decode_checkpoint_index(store_.crypto(), name_, seq, *bytes);
    if (!index) return tl::make_unexpected(with_context(index.error(), path.filename().string()));
    const std::uint32_t key_id = sf::stored_key_id(*bytes);
    auto location_of = [&](const sf::IndexEntry& entry) {
        return Location{false, key_id, entry.part, entry.length, seq, entry.offset};
    };
    std::unique_lock lock{state_mutex_};
    if (seq > last_seq_) {
        // We are behind the checkpoint: it replaces our whole view.
        std::map<std::string, Slot, std::less<>> fresh;
        std::size_t live = 0;
        for (auto& entry : index->entries) {
            live += entry.is_deleted ? 0 : 1;
            fresh.emplace_hint(fresh.end(), std::move(entry.id),
                               Slot{entry.rev, entry.seq, entry.is_deleted, location_of(entry)});
        }
        index_ = std::move(fresh);
        live_count_ = live;
        last_seq_ = seq;
        log_keys_.clear();
        log_bytes_since_checkpoint_ = 0;
        log_records_since_checkpoint_ = 0;
    } else {
        // We are ahead: point what the checkpoint holds at it, so deleting the
        // commit files it covers never strands our index.
        for (const auto& entry : index->entries) {
            const auto found = index_.find(entry.id);
            if (found != index_.end() && found->second.seq == entry.seq && !entry.is_deleted) {
                found->second.location = location_of(entry);
            }
        }
    }
    if (seq >= checkpoint_seq_) {
        checkpoint_key_id_ = key_id;
        log_keys_.erase(log_keys_.begin(), log_keys_.upper_bound(seq));
    }
    checkpoint_seq_ = std::max(checkpoint_seq_, seq);
    return {};
}

void Collection::apply(std::vector<sf::Record>& records,
                       std::uint64_t first_seq,
                       std::uint64_t file_bytes,
                       bool cache_bodies,
                       std::uint32_t key_id) {
    std::unique_lock lock{state_mutex_};
    log_keys_[first_seq] = key_id;
    for (std::size_t i = 0; i < records.size(); ++i) {
        auto& record = records[i];
        const auto seq = first_seq + i;
        std::string id = record.op == sf::RecordOp::append ? sf::appended_id(seq) : record.id;
        auto [it, inserted] = index_.try_emplace(std::move(id));
        Slot& slot = it->second;
        const bool was_live = !inserted && !slot.is_deleted;
        slot.rev = record.rev;
        slot.seq = seq;
        slot.is_deleted = record.op == sf::RecordOp::remove;
        slot.location = Location{true, 0, 0, 0, first_seq, i};
        if (was_live && slot.is_deleted) --live_count_;
        if (!was_live && !slot.is_deleted) ++live_count_;
        if (cache_bodies && caches_bodies_ && !slot.is_deleted) {
            store_.cache().insert(cache_key(it->first), slot.rev,
                                  std::make_shared<const std::string>(std::move(record.body)));
        }
    }
    last_seq_ = first_seq + records.size() - 1;
    log_bytes_since_checkpoint_ += file_bytes;
    log_records_since_checkpoint_ += records.size();
}

Result<void> Collection::catch_up(bool only_if_stale) {
    std::lock_guard lock{sync_mutex_};
    auto started = Clock::now();
    if (only_if_stale && is_fresh()) return {};
    auto current = read_current();
    if (!current) {
        if (current.error().code == Errc::corrupt_object) set_damage(current.error());
        return tl::make_unexpected(current.error());
    }
    auto absorb_if_newer = [&](std::optional<std::uint64_t> seq) -> Result<void> {
        std::uint64_t known = 0;
        {
            std::shared_lock state{state_mutex_};
            known = checkpoint_seq_;
        }
        if (!seq || *seq <= known) return {};
        auto absorbed = absorb_checkpoint(*seq);
        if (!absorbed && absorbed.error().code == Errc::corrupt_object)
            set_damage(absorbed.error());
        return absorbed;
    };
    if (auto absorbed = absorb_if_newer(*current); !absorbed) return absorbed;
    for (;;) {
        // A writer paused past the grace period could recreate a deleted
        // commit name (rule 6); reading CURRENT again bounds how stale our
        // view of the checkpoints can be while we walk the log.
        if (Clock::now() - started > store_.settings().retention_grace / 4) {
            started = Clock::now();
            current = read_current();
            if (!current) return tl::make_unexpected(current.error());
            if (auto absorbed = absorb_if_newer(*current); !absorbed) return absorbed;
        }
        std::uint64_t next = 0;
        {
            std::shared_lock state{state_mutex_};
            if (damage_) return tl::make_unexpected(*damage_);
            next = last_seq_ + 1;
        }
        const auto name = sf::commit_file_name(next);
        auto bytes = with_stale_retries([&] { return store_.env().read_file(log_dir_ / name); });
        if (!bytes) {
            if (bytes.error().code == Errc::not_found) break;
            return tl::make_unexpected(bytes.error());
        }
        auto records = sf::decode_commit_file(store_.crypto(), name_, next, *bytes);
        if (!records) {
            Error damage = with_context(records.error(), "commit file " + name);
            set_damage(damage);
            return tl::make_unexpected(damage);
        }
        apply(*records, next, bytes->size(), true, sf::stored_key_id(*bytes));
    }
    last_sync_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    seq_changed_.notify_all();
    return {};
}

bool Collection::is_fresh() const {
    const auto now = Clock::now().time_since_epoch().count();
    const auto interval =
        std::chrono::duration_cast<Clock::duration>(store_.settings().sync_interval).count();
    return now - last_sync_ns_.load(std::memory_order_relaxed) < interval;
}

Result<void> Collection::maybe_sync() {
    if (!is_fresh()) {
        if (auto caught = catch_up(true); !caught) return caught;
    }
    return check_damage();
}

Result<void> Collection::ensure_dirs() {
    if (has_dirs_) return {};
    Env& env = store_.env();
    if (auto made = env.make_dir(dir_); !made) return made;
    if (auto synced = env.sync_dir(store_.data_dir()); !synced) return synced;
    if (auto made = env.make_dir(log_dir_); !made) return made;
    if (auto made = env.make_dir(checkpoint_dir_); !made) return made;
    if (auto synced = env.sync_dir(dir_); !synced) return synced;
    has_dirs_ = true;
    return {};
}

Result<WriteOutcome> Collection::write(PendingWrite& write) {
    std::vector<PendingWrite*> batch;
    {
        std::unique_lock lock{queue_mutex_};
        queue_.push_back(&write);
        // Followers sleep on a condition variable, not on the leader's mutex:
        // woken together when their group is durable, they never queue behind
        // the next group's fsync.
        queue_changed_.wait(lock, [&] { return write.is_done || !has_leader_; });
        if (write.is_done) return std::move(*write.result);
        has_leader_ = true;
        // We lead: everyone queued while the previous group was being fsynced
        // goes into one commit file (group commit), up to max_group_bytes.
        std::size_t bytes = 0;
        std::size_t taken = 0;
        for (; taken < queue_.size(); ++taken) {
            bytes += write_bytes(*queue_[taken]);
            if (taken > 0 && bytes > store_.settings().max_group_bytes) break;
        }
        const auto own = std::find(queue_.begin(), queue_.end(), &write);
        if (static_cast<std::size_t>(own - queue_.begin()) >= taken) {
            taken = static_cast<std::size_t>(own - queue_.begin()) + 1;
        }
        batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
    }
    {
        std::lock_guard leader{commit_mutex_};
        commit_batch(batch);
    }
    {
        std::lock_guard lock{queue_mutex_};
        for (PendingWrite* done : batch) done->is_done = true;
        has_leader_ = false;
    }
    queue_changed_.notify_all();
    return std::move(*write.result);
}

void Collection::commit_batch(std::vector<PendingWrite*>& batch) {
    auto fail_all = [&](const Error& error) {
        for (PendingWrite* write : batch) {
            if (!write->result) write->result = tl::make_unexpected(error);
        }
    };
    if (auto dirs = ensure_dirs(); !dirs) return fail_all(dirs.error());
    Env& env = store_.env();
    const auto deadline = Clock::now() + kRaceBudget;
    auto backoff = std::chrono::microseconds{200};
    for (;;) {
        if (auto caught = catch_up(); !caught) return fail_all(caught.error());

        // Decide every write against the state we just caught up with; the
        // answers only count if the create below wins.
        std::vector<sf::Record> records;
        std::vector<std::pair<PendingWrite*, Result<WriteOutcome>>> answers;
        std::uint64_t first_seq = 0;
        {
            std::shared_lock state{state_mutex_};
            first_seq = last_seq_ + 1;
            std::map<std::string_view, std::pair<std::uint64_t, bool>> overlay;  // rev, is_live
            for (PendingWrite* write : batch) {
                const auto seq = first_seq + records.size();
                if (write->op == sf::RecordOp::append) {
                    records.push_back(sf::Record{sf::RecordOp::append, {}, 1, write->body});
                    for (const auto& more : write->more_bodies) {  // append_many: consecutive seqs
                        records.push_back(sf::Record{sf::RecordOp::append, {}, 1, more});
                    }
                    answers.emplace_back(write, WriteOutcome{1, seq});
                    continue;
                }
                std::uint64_t rev = 0;
                bool is_live = false;
                if (const auto o = overlay.find(write->id); o != overlay.end()) {
                    std::tie(rev, is_live) = o->second;
                } else if (const auto found = index_.find(write->id); found != index_.end()) {
                    rev = found->second.rev;
                    is_live = !found->second.is_deleted;
                }
                if (write->is_marker) {
                    if (is_live) {
                        answers.emplace_back(write, fail(Errc::conflict, "marker id is taken"));
                        continue;
                    }
                    records.push_back(sf::Record{sf::RecordOp::remove, write->id, rev + 1, {}});
                    overlay[write->id] = {rev + 1, false};
                    answers.emplace_back(write, WriteOutcome{rev + 1, seq});
                    continue;
                }
                const std::uint64_t live_rev = is_live ? rev : 0;
                if (write->expected && *write->expected != live_rev) {
                    answers.emplace_back(write, fail(Errc::conflict, "current revision " +
                                                                         std::to_string(live_rev)));
                    continue;
                }
                if (write->op == sf::RecordOp::remove && !is_live) {
                    answers.emplace_back(write, fail(Errc::not_found, "no such document"));
                    continue;
                }
                // Tombstones keep the revision growing across delete and re-create.
                const auto new_rev = rev + 1;
                records.push_back(
                    sf::Record{write->op, write->id, new_rev,
                               write->op == sf::RecordOp::put ? write->body : std::string{}});
                overlay[write->id] = {new_rev, write->op == sf::RecordOp::put};
                answers.emplace_back(write, WriteOutcome{new_rev, seq});
            }
        }
        if (records.empty()) {
            for (auto& [write, answer] : answers) write->result = std::move(answer);
            return;
        }
        std::vector<const sf::Record*> pointers;
        for (const auto& record : records) pointers.push_back(&record);
        auto bytes = sf::encode_commit_file(store_.crypto(), name_, first_seq, pointers);
        if (!bytes) return fail_all(bytes.error());
        const auto name = sf::commit_file_name(first_seq);
        auto created = create_durable(env, log_dir_, name, *bytes, store_.temp_tag());
        if (!created) {
            if (created.error().code == Errc::conflict) {
                // Another writer won this seq: catch up and decide again.
                if (Clock::now() > deadline) {
                    return fail_all(
                        Error{Errc::unavailable,
                              "collection " + name_ + ": lost the commit race too long"});
                }
                std::this_thread::sleep_for(backoff);
                backoff = std::min(backoff * 2, std::chrono::microseconds{20'000});
                continue;
            }
            return fail_all(created.error());
        }
        // The name is ours, but only durable once the directory is synced. A
        // failure here leaves the outcome unknown: not acknowledged, and the
        // file is never removed (another instance may already build on it);
        // our next catch-up reads it like anyone else's commit.
        if (auto synced = env.sync_dir(log_dir_); !synced) return fail_all(synced.error());
        // Rule 6: a paused writer may have recreated a name that a checkpoint
        // already covered and that was deleted; such a commit must not count.
        auto current = read_current();
        if (!current) return fail_all(current.error());
        if (*current && **current >= first_seq) {
            spdlog::warn("store: collection={} commit {} landed under checkpoint {}; retrying",
                         name_, name, **current);
            (void)env.remove(log_dir_ / name);
            (void)env.sync_dir(log_dir_);
            if (Clock::now() > deadline) {
                return fail_all(
                    Error{Errc::unavailable, "collection " + name_ + ": commit superseded"});
            }
            continue;
        }
        apply(records, first_seq, bytes->size(), true, sf::stored_key_id(*bytes));
        static auto& group_sizes = metrics::registry().histogram(  // records per commit file
            "nexu_store_commit_records", {}, metrics::Scale::count);
        group_sizes.observe_count(records.size());
        last_sync_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
        for (auto& [write, answer] : answers) write->result = std::move(answer);
        seq_changed_.notify_all();
        return;
    }
}

Result<std::shared_ptr<const std::string>> Collection::SourceReader::fetch(std::string_view id,
                                                                           const Slot& slot) {
    const auto& loc = slot.location;
    Env& env = owner_.store_.env();
    if (loc.in_log) {
        if (log_first_ != loc.file || log_records_.empty()) {
            const auto name = sf::commit_file_name(loc.file);
            auto bytes = with_stale_retries([&] { return env.read_file(owner_.log_dir_ / name); });
            if (!bytes) return tl::make_unexpected(bytes.error());
            auto records =
                sf::decode_commit_file(owner_.store_.crypto(), owner_.name_, loc.file, *bytes);
            if (!records)
                return tl::make_unexpected(with_context(records.error(), "commit file " + name));
            log_records_ = std::move(*records);
            log_first_ = loc.file;
        }
        if (loc.offset >= log_records_.size()) return fail(Errc::corrupt_object, "record missing");
        const auto& record = log_records_[loc.offset];
        const auto record_id =
            record.op == sf::RecordOp::append ? sf::appended_id(slot.seq) : record.id;
        if (record_id != id || record.rev != slot.rev) {
            return fail(Errc::corrupt_object, "record does not match the index");
        }
        return std::make_shared<const std::string>(record.body);
    }
    const auto name = sf::segment_name(loc.file, loc.part);
    std::string single;
    std::string_view framed;
    if (bulk_) {
        if (segment_key_ != std::pair{loc.file, loc.part} || segment_.empty()) {
            auto bytes =
                with_stale_retries([&] { return env.read_file(owner_.checkpoint_dir_ / name); });
            if (!bytes) return tl::make_unexpected(bytes.error());
            segment_ = std::move(*bytes);
            segment_key_ = {loc.file, loc.part};
        }
        if (loc.offset > segment_.size() || segment_.size() - loc.offset < loc.length) {
            return fail(Errc::corrupt_object, "segment " + name + " is truncated");
        }
        framed = std::string_view{segment_}.substr(loc.offset, loc.length);
    } else {
        auto bytes = with_stale_retries(
            [&] { return env.read_range(owner_.checkpoint_dir_ / name, loc.offset, loc.length); });
        if (!bytes) return tl::make_unexpected(bytes.error());
        single = std::move(*bytes);
        if (single.size() != loc.length)
            return fail(Errc::corrupt_object, "segment " + name + " is truncated");
        framed = single;
    }
    auto body = sf::open_sealed_document(owner_.store_.crypto(), loc.key_id, framed, owner_.name_,
                                         id, slot.rev, slot.seq);
    if (!body) return tl::make_unexpected(with_context(body.error(), "segment " + name));
    return std::make_shared<const std::string>(std::move(*body));
}

// Reads a document's body from its file. A file that vanished was covered by
// a newer checkpoint and deleted: catch up (absorbing it) and look again.
Result<std::shared_ptr<const std::string>> Collection::fetch_fresh(std::string_view id,
                                                                   Slot& slot) {
    SourceReader reader{*this, false};
    auto body = reader.fetch(id, slot);
    if (body || body.error().code != Errc::not_found) return body;
    if (auto caught = catch_up(); !caught) return tl::make_unexpected(caught.error());
    {
        std::shared_lock state{state_mutex_};
        const auto found = index_.find(id);
        if (found == index_.end() || found->second.is_deleted)
            return fail(Errc::not_found, "no such document");
        slot = found->second;
    }
    body = reader.fetch(id, slot);
    if (!body && body.error().code == Errc::not_found) {
        return fail(Errc::corrupt_object,
                    "a file holding the document is missing: " + body.error().context);
    }
    return body;
}

Result<StoredDocument> Collection::get(std::string_view id) {
    if (auto synced = maybe_sync(); !synced) return tl::make_unexpected(synced.error());
    Slot slot;
    {
        std::shared_lock state{state_mutex_};
        const auto found = index_.find(id);
        if (found == index_.end() || found->second.is_deleted)
            return fail(Errc::not_found, "no such document");
        slot = found->second;
    }
    const auto key = cache_key(id);
    if (auto body = store_.cache().find(key, slot.rev))
        return StoredDocument{slot.rev, slot.seq, std::move(body)};
    auto body = fetch_fresh(id, slot);
    if (!body) {
        if (body.error().code == Errc::corrupt_object) {
            spdlog::error("store: corrupt object collection={} id={}: {}", name_, id,
                          body.error().context);
            return fail(Errc::corrupt_object, "collection " + name_ + " document " +
                                                  std::string{id} + ": " + body.error().context);
        }
        return tl::make_unexpected(body.error());
    }
    store_.cache().insert(key, slot.rev, *body);
    return StoredDocument{slot.rev, slot.seq, std::move(*body)};
}

Result<void> Collection::scan(std::string_view after_id, const Store::Visitor& visit) {
    if (auto synced = maybe_sync(); !synced) return synced;
    std::string after{after_id};
    bool is_first = after_id.empty();
    SourceReader reader{*this, true};
    std::vector<std::pair<std::string, Slot>> batch;
    for (;;) {
        batch.clear();
        {
            std::shared_lock state{state_mutex_};
            auto it = is_first ? index_.begin() : index_.upper_bound(after);
            for (; it != index_.end() && batch.size() < kScanBatch; ++it) {
                if (!it->second.is_deleted) batch.emplace_back(it->first, it->second);
            }
            if (it == index_.end() && batch.empty()) return {};
            if (batch.empty()) {
                // A run of tombstones: move past it.
                after = std::prev(it)->first;
                is_first = false;
                continue;
            }
        }
        is_first = false;
        for (auto& [id, slot] : batch) {
            const auto key = cache_key(id);
            auto body = store_.cache().find(key, slot.rev);
            if (!body) {
                auto fetched = reader.fetch(id, slot);
                if (!fetched && fetched.error().code == Errc::not_found)
                    fetched = fetch_fresh(id, slot);
                if (!fetched) {
                    if (fetched.error().code != Errc::corrupt_object)
                        return tl::make_unexpected(fetched.error());
                    return fail(Errc::corrupt_object, "collection " + name_ + " document " + id +
                                                          ": " + fetched.error().context);
                }
                body = std::move(*fetched);
                store_.cache().insert(key, slot.rev, body);
            }
            if (!visit(id, StoredDocument{slot.rev, slot.seq, std::move(body)})) return {};
        }
        after = batch.back().first;
    }
}

Result<std::uint64_t> Collection::sequence() {
    if (auto caught = catch_up(); !caught) return tl::make_unexpected(caught.error());
    std::shared_lock state{state_mutex_};
    return last_seq_;
}

Result<std::uint64_t> Collection::wait_for_sequence(std::uint64_t after_seq,
                                                    std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto seq = sequence();
        if (!seq || *seq > after_seq || Clock::now() >= deadline) return seq;
        std::unique_lock lock{seq_mutex_};
        const auto until = std::min(deadline, Clock::now() + store_.settings().sync_interval);
        seq_changed_.wait_until(lock, until);
    }
}

Result<void> Collection::checkpoint(bool only_if_due) {
    std::lock_guard lock{checkpoint_mutex_};
    if (auto caught = catch_up(); !caught) return caught;
    const auto& settings = store_.settings();
    std::vector<std::pair<std::string, Slot>> snapshot;
    std::uint64_t seq = 0;
    {
        std::shared_lock state{state_mutex_};
        if (damage_) return tl::make_unexpected(*damage_);
        const bool is_due = log_bytes_since_checkpoint_ >= settings.checkpoint_log_bytes ||
                            log_records_since_checkpoint_ >= settings.checkpoint_log_records;
        if (last_seq_ == checkpoint_seq_ || (only_if_due && !is_due)) return {};
        seq = last_seq_;
        snapshot.reserve(index_.size());
        for (const auto& [id, slot] : index_) snapshot.emplace_back(id, slot);
    }
    if (auto dirs = ensure_dirs(); !dirs) return dirs;
    Env& env = store_.env();
    const auto& crypto = store_.crypto();
    const auto key_id = crypto.current_key_id();
    sf::CheckpointIndex index;
    index.seq = seq;
    index.entries.reserve(snapshot.size());
    std::string segment = sf::segment_header(key_id);
    std::uint32_t part = 0;
    bool lost_race = false;
    auto flush_segment = [&]() -> Result<void> {
        auto created = create_durable(env, checkpoint_dir_, sf::segment_name(seq, part), segment,
                                      store_.temp_tag());
        if (!created) {
            // Another instance is writing the checkpoint of this same seq:
            // leave it to them (it is the same content).
            if (created.error().code == Errc::conflict) lost_race = true;
            return created;
        }
        index.segment_bytes.push_back(segment.size());
        ++part;
        segment = sf::segment_header(key_id);
        return {};
    };
    SourceReader reader{*this, true};
    for (auto& [id, slot] : snapshot) {
        sf::IndexEntry entry{id, slot.rev, slot.seq, slot.is_deleted, 0, 0, 0};
        if (!slot.is_deleted) {
            auto body = store_.cache().find(cache_key(id), slot.rev);
            if (!body) {
                auto fetched = reader.fetch(id, slot);
                if (!fetched && fetched.error().code == Errc::not_found)
                    fetched = fetch_fresh(id, slot);
                if (!fetched) {
                    return tl::make_unexpected(with_context(
                        fetched.error(), "checkpoint of " + name_ + " document " + id));
                }
                body = std::move(*fetched);
            }
            entry.part = part;
            entry.offset = segment.size();
            if (auto sealed = sf::append_sealed_document(crypto, key_id, segment, name_, id,
                                                         slot.rev, slot.seq, *body);
                !sealed) {
                return sealed;
            }
            entry.length = static_cast<std::uint32_t>(segment.size() - entry.offset);
            if (segment.size() >= settings.segment_bytes) {
                if (auto flushed = flush_segment(); !flushed)
                    return lost_race ? Result<void>{} : flushed;
            }
        }
        index.entries.push_back(std::move(entry));
    }
    if (segment.size() > sf::kSegmentHeaderBytes) {
        if (auto flushed = flush_segment(); !flushed) return lost_race ? Result<void>{} : flushed;
    }
    auto encoded = sf::encode_checkpoint_index(crypto, name_, index);
    if (!encoded) return tl::make_unexpected(encoded.error());
    auto created = create_durable(env, checkpoint_dir_, sf::checkpoint_index_name(seq), *encoded,
                                  store_.temp_tag());
    if (!created && created.error().code != Errc::conflict) return created;
    if (auto synced = env.sync_dir(checkpoint_dir_); !synced) return synced;
    // CURRENT only moves forward: another instance may have published a newer one.
    auto current = read_current();
    if (!current) return tl::make_unexpected(current.error());
    if (!*current || **current < seq) {
        if (auto replaced = replace_file(env, dir_, std::string{sf::kCurrentName},
                                         sf::encode_current(seq), store_.temp_tag());
            !replaced) {
            return replaced;
        }
    }
    {
        std::lock_guard sync{sync_mutex_};
        if (auto absorbed = absorb_checkpoint(seq); !absorbed) return absorbed;
        std::unique_lock state{state_mutex_};
        log_bytes_since_checkpoint_ = 0;
        log_records_since_checkpoint_ = 0;
    }
    spdlog::info("store: checkpoint collection={} seq={} documents={} segments={}", name_, seq,
                 index.entries.size(), index.segment_bytes.size());
    return {};
}

Result<std::size_t> Collection::collect_garbage() {
    std::lock_guard lock{maintenance_mutex_};
    auto current = read_current();
    if (!current) return tl::make_unexpected(current.error());
    if (!*current) return std::size_t{0};
    const auto published = **current;
    const auto now = Clock::now();
    if (published != gc_checkpoint_seq_) {
        // The grace period runs from when we first saw this checkpoint.
        gc_checkpoint_seq_ = published;
        gc_seen_at_ = now;
    }
    const auto grace = store_.settings().retention_grace;
    const bool is_past_grace = now - gc_seen_at_ >= grace;
    Env& env = store_.env();
    const auto wall_now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    const auto grace_s = std::chrono::duration_cast<std::chrono::seconds>(grace).count();
    std::size_t removed = 0;
    for (const auto& dir : {log_dir_, checkpoint_dir_}) {
        auto names = env.list_dir(dir);
        if (!names) {
            if (names.error().code == Errc::not_found) continue;
            return tl::make_unexpected(names.error());
        }
        for (const auto& name : *names) {
            const auto parsed = sf::parse_file_name(name);
            bool is_garbage = false;
            if (parsed) {
                if (!is_past_grace) continue;
                // Commit files end at a checkpoint boundary: first <= published
                // means the whole file is covered.
                if (parsed->kind == sf::FileKind::commit) is_garbage = parsed->seq <= published;
                if (parsed->kind != sf::FileKind::commit) {
                    is_garbage = parsed->seq < published;
                    if (parsed->seq > published) {
                        // An abandoned checkpoint (its writer died): old enough to be sure.
                        auto info = env.stat(dir / name);
                        is_garbage = info && wall_now - info->modified_unix_s > 2 * grace_s + 60;
                    }
                }
            } else if (is_temp_name(name)) {
                auto info = env.stat(dir / name);
                is_garbage = info && wall_now - info->modified_unix_s > grace_s;
            }
            if (is_garbage && env.remove(dir / name)) ++removed;
        }
    }
    return removed;
}

Result<void> Collection::save_high_water_mark() {
    std::lock_guard lock{maintenance_mutex_};
    std::uint64_t seq = 0;
    {
        std::shared_lock state{state_mutex_};
        if (damage_) return {};
        seq = last_seq_;
    }
    if (seq <= high_water_saved_) return {};
    // Advisory local state: not fsynced (a crash can only lower it, which
    // weakens detection but never raises a false alarm).
    auto saved = replace_file(store_.env(), store_.state_dir(), name_ + ".hwm",
                              sf::encode_current(seq), store_.temp_tag(), false);
    if (saved) high_water_saved_ = seq;
    return saved;
}

Result<bool> Collection::rekey() {
    if (auto caught = catch_up(); !caught) return tl::make_unexpected(caught.error());
    const auto current = store_.crypto().current_key_id();
    bool is_quiet = false;
    {
        std::shared_lock state{state_mutex_};
        if (damage_) return tl::make_unexpected(*damage_);
        if (last_seq_ == 0) return false;  // nothing stored yet
        const bool old_checkpoint = checkpoint_seq_ > 0 && checkpoint_key_id_ != current;
        const bool old_log = std::any_of(log_keys_.begin(), log_keys_.end(),
                                         [&](const auto& file) { return file.second != current; });
        if (!old_checkpoint && !old_log) return false;
        is_quiet = last_seq_ == checkpoint_seq_;
    }
    if (is_quiet) {
        // A checkpoint needs a new seq: one tombstone, which no reader lists.
        PendingWrite marker{
            sf::RecordOp::remove, std::string{kRekeyMarkerId}, std::nullopt, {}, {}, false, true};
        if (auto written = write(marker); !written) return tl::make_unexpected(written.error());
    }
    if (auto done = checkpoint(false); !done) return tl::make_unexpected(done.error());
    return true;
}

void Collection::verify(VerifyReport& report) {
    ++report.collections;
    auto damage = check_damage();
    if (!damage) {
        report.damaged.push_back({name_, "(log)", damage.error().context});
        return;
    }
    std::vector<std::pair<std::string, Slot>> snapshot;
    std::uint64_t checkpoint_seq = 0;
    {
        std::shared_lock state{state_mutex_};
        for (const auto& [id, slot] : index_) {
            if (!slot.is_deleted) snapshot.emplace_back(id, slot);
        }
        checkpoint_seq = checkpoint_seq_;
    }
    Env& env = store_.env();
    // Segments: exact sizes and headers, so appended or cut bytes show even
    // where no document reads them.
    std::set<std::string> reported_ids;  // damaged records found in the segments
    if (checkpoint_seq > 0) {
        auto bytes = env.read_file(checkpoint_dir_ / sf::checkpoint_index_name(checkpoint_seq));
        auto index =
            bytes ? sf::decode_checkpoint_index(store_.crypto(), name_, checkpoint_seq, *bytes)
                  : Result<sf::CheckpointIndex>{tl::make_unexpected(bytes.error())};
        if (!index) {
            report.damaged.push_back(
                {name_, sf::checkpoint_index_name(checkpoint_seq), index.error().context});
        } else {
            // Every record of every segment, superseded ones included, and
            // records that tile each segment exactly: no byte goes unchecked.
            std::vector<std::vector<const sf::IndexEntry*>> by_part(index->segment_bytes.size());
            for (const auto& entry : index->entries) {
                if (entry.is_deleted) continue;
                if (entry.part >= by_part.size()) {
                    report.damaged.push_back({name_, entry.id, "index names a missing segment"});
                    continue;
                }
                by_part[entry.part].push_back(&entry);
            }
            const auto key_id = sf::stored_key_id(*bytes);
            for (std::uint32_t part = 0; part < index->segment_bytes.size(); ++part) {
                const auto name = sf::segment_name(checkpoint_seq, part);
                auto segment = env.read_file(checkpoint_dir_ / name);
                if (!segment) {
                    report.damaged.push_back({name_, name, segment.error().context});
                    continue;
                }
                auto segment_key = sf::segment_key_id(*segment);
                if (segment->size() != index->segment_bytes[part] || !segment_key ||
                    *segment_key != key_id) {
                    report.damaged.push_back(
                        {name_, name, "segment size or header does not match the index"});
                    continue;
                }
                auto& entries = by_part[part];
                std::sort(entries.begin(), entries.end(),
                          [](const auto* a, const auto* b) { return a->offset < b->offset; });
                std::uint64_t expected_offset = sf::kSegmentHeaderBytes;
                for (const auto* entry : entries) {
                    if (entry->offset != expected_offset ||
                        entry->offset + entry->length > segment->size()) {
                        report.damaged.push_back({name_, name, "records do not tile the segment"});
                        break;
                    }
                    expected_offset += entry->length;
                    auto body = sf::open_sealed_document(
                        store_.crypto(), key_id,
                        std::string_view{*segment}.substr(entry->offset, entry->length), name_,
                        entry->id, entry->rev, entry->seq);
                    if (!body) {
                        report.damaged.push_back(
                            {name_, name + " " + entry->id, body.error().context});
                        reported_ids.insert(entry->id);
                    }
                }
                if (expected_offset != segment->size()) {
                    report.damaged.push_back({name_, name, "records do not tile the segment"});
                }
            }
        }
    }
    std::set<std::uint64_t> log_files;
    SourceReader reader{*this, true};
    for (auto& [id, slot] : snapshot) {
        if (slot.location.in_log) log_files.insert(slot.location.file);
        auto body = reader.fetch(id, slot);
        if (!body) {
            // A live document in a damaged segment record was reported above: once is enough.
            if (slot.location.in_log || !reported_ids.contains(id)) {
                report.damaged.push_back({name_, id, body.error().context});
            }
        } else {
            ++report.documents;
        }
    }
    report.commit_files += log_files.size();
}

// ---------------------------------------------------------------------------
// StoreImpl

Result<std::string> StoreImpl::load_or_create_key_check() {
    const auto path = data_dir_ / sf::kKeyCheckName;
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto bytes = with_stale_retries([&] { return env_.read_file(path); });
        if (bytes) {
            auto directory_id = sf::decode_key_check(crypto_, *bytes);
            if (!directory_id) {
                return fail(Errc::invalid_argument,
                            "key does not decrypt the data directory " + data_dir_.string());
            }
            return directory_id;
        }
        if (bytes.error().code != Errc::not_found) return tl::make_unexpected(bytes.error());
        std::string directory_id(16, '\0');
        randombytes_buf(directory_id.data(), directory_id.size());
        auto encoded = sf::encode_key_check(crypto_, directory_id);
        if (!encoded) return tl::make_unexpected(encoded.error());
        auto created =
            create_durable(env_, data_dir_, std::string{sf::kKeyCheckName}, *encoded, temp_tag());
        if (created) {
            if (auto synced = env_.sync_dir(data_dir_); !synced)
                return tl::make_unexpected(synced.error());
            return directory_id;
        }
        // Another instance created it first: read theirs.
        if (created.error().code != Errc::conflict) return tl::make_unexpected(created.error());
    }
    return fail(Errc::unavailable, "cannot settle the key check object");
}

Result<bool> StoreImpl::rekey_key_check() {
    const auto path = data_dir_ / sf::kKeyCheckName;
    auto bytes = with_stale_retries([&] { return env_.read_file(path); });
    if (!bytes) return tl::make_unexpected(bytes.error());
    if (sf::stored_key_id(*bytes) == crypto_.current_key_id()) return false;
    auto directory_id = sf::decode_key_check(crypto_, *bytes);
    if (!directory_id) return tl::make_unexpected(directory_id.error());
    auto encoded = sf::encode_key_check(crypto_, *directory_id);
    if (!encoded) return tl::make_unexpected(encoded.error());
    if (auto replaced =
            replace_file(env_, data_dir_, std::string{sf::kKeyCheckName}, *encoded, temp_tag());
        !replaced) {
        return tl::make_unexpected(replaced.error());
    }
    return true;
}

void StoreImpl::maintenance_loop() {
    auto last_gc = Clock::now();
    auto last_key_poll = Clock::now();
    const auto tick = std::min<std::chrono::milliseconds>(settings_.sync_interval,
                                                          std::chrono::milliseconds{200});
    std::unique_lock lock{stop_mutex_};
    while (!is_stopping_) {
        stop_changed_.wait_for(lock, tick);
        if (is_stopping_) break;
        lock.unlock();
        if (Clock::now() - last_key_poll >= kKeyPollInterval) {
            // Key rotation without restart: new objects get the new version.
            last_key_poll = Clock::now();
            if (auto versions = apply_key_versions(env_, data_dir_, crypto_); !versions) {
                spdlog::warn("store: reading key versions failed: {}", versions.error().context);
            }
        }
        for (Collection* coll : open_collections()) {
            if (auto done = coll->checkpoint(true); !done) {
                spdlog::warn("store: checkpoint of {} failed: {}", coll->name(),
                             done.error().context);
            }
            (void)coll->save_high_water_mark();
        }
        if (Clock::now() - last_gc >=
            std::max<std::chrono::milliseconds>(settings_.retention_grace / 4,
                                                std::chrono::milliseconds{100})) {
            last_gc = Clock::now();
            for (Collection* coll : open_collections()) (void)coll->collect_garbage();
        }
        lock.lock();
    }
}

Result<VerifyReport> StoreImpl::verify() {
    return config::timed("store_verify", [&]() -> Result<VerifyReport> {
        VerifyReport report;
        auto names = collections();
        if (!names) return tl::make_unexpected(names.error());
        for (const auto& name : *names) {
            // A fresh view per collection: nothing comes from the cache.
            Collection coll{*this, name, 0, false};
            if (auto loaded = coll.ensure_loaded(); !loaded) {
                report.damaged.push_back({name, "(load)", loaded.error().context});
                ++report.collections;
                continue;
            }
            coll.verify(report);
        }
        return report;
    });
}

Result<std::unique_ptr<Store>> Store::open(Env& env,
                                           const fs::path& data_dir,
                                           const fs::path& state_dir,
                                           const Crypto& crypto,
                                           StoreSettings settings) {
    return config::timed("store_open", [&]() -> Result<std::unique_ptr<Store>> {
        auto store =
            std::make_unique<StoreImpl>(env, data_dir, state_dir, crypto, std::move(settings));
        if (auto started = store->start(); !started) return tl::make_unexpected(started.error());
        return std::unique_ptr<Store>{std::move(store)};
    });
}

Result<void> check_data_dir_key(Env& env, const fs::path& data_dir, const Crypto& crypto) {
    auto bytes = with_stale_retries([&] { return env.read_file(data_dir / sf::kKeyCheckName); });
    if (!bytes) return tl::make_unexpected(bytes.error());
    if (!sf::decode_key_check(crypto, *bytes)) {
        return fail(Errc::invalid_argument, "key does not decrypt the data directory");
    }
    return {};
}

StoreSettings store_settings_from(const config::Config& config) {
    StoreSettings settings;
    settings.cache_bytes = config.storage.cache_bytes;
    settings.checkpoint_log_bytes = config.storage.checkpoint_log_bytes;
    settings.checkpoint_log_records = config.storage.checkpoint_log_records;
    settings.retention_grace = config.storage.retention_grace;
    settings.sync_interval = config.sync_interval;
    settings.instance_id = config.instance_id;
    return settings;
}

std::optional<std::uint64_t> current_revision_of(const Error& error) {
    if (error.code != Errc::conflict) return std::nullopt;
    constexpr std::string_view kPrefix = "current revision ";
    const auto at = error.context.find(kPrefix);
    if (at == std::string::npos) return std::nullopt;
    return sf::decode_current(error.context.substr(at + kPrefix.size()) + "\n");
}

}  // namespace nexu::infrastructure
