#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "infrastructure/store.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/parsed_document_cache.hpp"
#include "repositories/query_plan.hpp"

namespace nexu::repositories {

// In-memory query structures of a collection, kept in step with the store:
//
// - field indexes for the fields a collection declares
//   (`{"indexes":["age"]}`): per field, the documents ordered by the field's
//   scalar value, so `$[?@.age > 90]` or `$[?@.email == 'x']` visits only the
//   documents that can match. An index only proposes candidates (a
//   superset); the query still evaluates each one, so a stale or approximate
//   entry can cost time but never change a result, as long as no matching
//   document is missing.
// - a snapshot of every document in id order, parsed, for queries that must
//   visit them all: a query walks one vector instead of looking each
//   document up in the store's cache and the parsed-document cache (two
//   locked hash lookups, most of a scan's cost). Collections without a
//   declared index get one only within `snapshot_budget_bytes` (estimated
//   parsed size, all such collections together); beyond it queries scan.
//
// The sequence check keeps both complete:
// - they are built by a scan and remember the store seq they were built at;
// - this instance's writes are applied at once, in whatever order they
//   finish; the seq they cover advances over every gap-free run;
// - before use, at most once per sync interval, the collection's current
//   seq is read from the store (catching up with other instances); if it
//   moved past them, they are rebuilt.
//
// Thread-safe. Building blocks on the store: call from workers.
class FieldIndexes {
public:
    static constexpr std::size_t kDefaultSnapshotBudget = std::size_t{256} << 20;

    FieldIndexes(infrastructure::Store& store,
                 ParsedDocumentCache& parsed,
                 std::chrono::milliseconds sync_interval,
                 std::size_t snapshot_budget_bytes = kDefaultSnapshotBudget)
        : store_(store),
          parsed_(parsed),
          sync_interval_(sync_interval),
          snapshot_budget_bytes_(snapshot_budget_bytes) {}

    // A write of document `id` (null document: a delete) at `rev`, committed
    // at `seq`; `body` is its stored text.
    void note_write(const CollectionInfo& info,
                    std::string_view id,
                    std::uint64_t rev,
                    std::uint64_t seq,
                    std::shared_ptr<const nlohmann::json> document,
                    std::shared_ptr<const std::string> body);

    // One revision of a live document, immutable once made.
    struct Member {
        std::string id;
        std::uint64_t rev = 0;
        std::shared_ptr<const nlohmann::json> document;  // presented, with _id and _rev
        std::shared_ptr<const std::string> body;         // stored text
    };
    using Members = std::vector<std::shared_ptr<const Member>>;  // in id order

    // The documents that may satisfy every comparison on an indexed field
    // (the intersection of their candidates), as the index last saw them
    // (the revision current at the index's seq, or this instance's newer
    // write); nullopt when no comparison is on an indexed field.
    Result<std::optional<Members>> candidates(const CollectionInfo& info,
                                              const std::vector<IndexableComparison>& comparisons);

    // Every live document, as above; null when the collection has no
    // declared index and does not fit in the snapshot budget.
    Result<std::shared_ptr<const Members>> snapshot(const CollectionInfo& info);

    // Rebuilds the collection's indexes (and snapshot) from the store now
    // (the reindex job).
    Result<void> reindex(const CollectionInfo& info);
    // Rebuilds every collection's indexes; returns how many were rebuilt.
    Result<std::size_t> reindex_all(CollectionRepository& collections);
    // Forgets a deleted collection's indexes.
    void drop(std::string_view name);

    // Estimated bytes held by the snapshots of collections without indexes.
    std::size_t snapshot_bytes() const { return snapshot_bytes_.load(); }

private:
    struct Key {
        int rank = 0;  // null, false, true, number, string
        double number = 0;
        std::string text;
        bool operator<(const Key& other) const;
    };
    struct Entry;
    using Postings = std::multimap<Key, const Entry*>;
    struct Entry {
        std::shared_ptr<const Member> member;  // null for a deleted document
        std::uint64_t rev = 0;  // of the last write seen, deletes included
        std::vector<std::optional<Postings::iterator>> positions;  // per field
    };
    struct CollectionIndex {
        explicit CollectionIndex(std::atomic<std::size_t>& total) : snapshot_total(total) {}
        ~CollectionIndex() { snapshot_total -= cost; }
        CollectionIndex(const CollectionIndex&) = delete;
        CollectionIndex& operator=(const CollectionIndex&) = delete;

        std::atomic<std::size_t>& snapshot_total;  // FieldIndexes::snapshot_bytes_
        std::mutex mutex;
        std::string generation;
        std::vector<std::string> fields;  // empty: a snapshot only
        bool is_built = false;
        std::uint64_t seq = 0;                // every commit up to it is applied
        std::set<std::uint64_t> applied_ahead;  // this instance's writes past a gap
        std::chrono::steady_clock::time_point validated_at;
        std::vector<Postings> postings;  // per field
        std::map<std::string, Entry, std::less<>> entries;
        std::shared_ptr<const Members> members;  // made on demand; null after a change
        std::size_t cost = 0;                    // estimated bytes (snapshots only)
        // A snapshot over budget at this seq is not retried until it moves.
        std::optional<std::uint64_t> over_budget_at;
    };

    static std::optional<Key> key_of(const nlohmann::json& value);
    static std::size_t cost_of(const Member& member);
    std::shared_ptr<CollectionIndex> index_for(const CollectionInfo& info, bool create);
    Result<void> rebuild(CollectionIndex& index, const CollectionInfo& info);
    Result<void> ensure_fresh(CollectionIndex& index, const CollectionInfo& info);
    void apply(CollectionIndex& index,
               std::string_view id,
               std::uint64_t rev,
               std::shared_ptr<const nlohmann::json> document,
               std::shared_ptr<const std::string> body);
    void clear(CollectionIndex& index);
    static std::vector<const Entry*> lookup(const CollectionIndex& index,
                                            std::size_t field,
                                            const IndexableComparison& comparison);

    infrastructure::Store& store_;
    ParsedDocumentCache& parsed_;
    std::chrono::milliseconds sync_interval_;
    std::size_t snapshot_budget_bytes_;
    std::atomic<std::size_t> snapshot_bytes_{0};
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<CollectionIndex>> indexes_;
};

}  // namespace nexu::repositories
