#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

// In-memory field indexes for the fields a collection declares
// (`{"indexes":["age"]}`): per field, the documents ordered by the field's
// scalar value, so `$[?@.age > 90]` or `$[?@.email == 'x']` visits only the
// documents that can match. An index only proposes candidates (a superset);
// the query still evaluates each one, so a stale or approximate entry can
// cost time but never change a result, as long as no matching document is
// missing. That is what the sequence check guarantees:
//
// - an index is built by a scan and remembers the store seq it was built at;
// - this instance's writes are applied at once when the index already holds
//   every commit before theirs (otherwise the index is marked stale);
// - before use, at most once per sync interval, the collection's current
//   seq is read from the store (catching up with other instances); if it
//   moved past the index, the index is rebuilt.
//
// Thread-safe. Building blocks on the store: call from workers.
class FieldIndexes {
public:
    FieldIndexes(infrastructure::Store& store,
                 ParsedDocumentCache& parsed,
                 std::chrono::milliseconds sync_interval)
        : store_(store), parsed_(parsed), sync_interval_(sync_interval) {}

    // A write of document `id` (null document: a delete) at `rev`, committed
    // at `seq`; `body` is its stored text.
    void note_write(const CollectionInfo& info,
                    std::string_view id,
                    std::uint64_t rev,
                    std::uint64_t seq,
                    std::shared_ptr<const nlohmann::json> document,
                    std::shared_ptr<const std::string> body);

    // A document the index proposes, as the index last saw it (the revision
    // current at the index's seq, or this instance's newer write).
    struct Candidate {
        const std::string* id;  // valid while the Candidate's vector lives
        std::uint64_t rev = 0;
        std::shared_ptr<const nlohmann::json> document;  // presented, with _id and _rev
        std::shared_ptr<const std::string> body;         // stored text
        std::shared_ptr<const std::string> id_holder;    // keeps *id alive
    };

    // The ids (sorted) of the documents that may satisfy every comparison on
    // an indexed field (the intersection of their candidates); nullopt when no
    // comparison is on an indexed field.
    Result<std::optional<std::vector<Candidate>>> candidates(
        const CollectionInfo& info, const std::vector<IndexableComparison>& comparisons);

    // Rebuilds the collection's indexes from the store now (the reindex job).
    Result<void> reindex(const CollectionInfo& info);
    // Rebuilds every collection's indexes; returns how many were rebuilt.
    Result<std::size_t> reindex_all(CollectionRepository& collections);
    // Forgets a deleted collection's indexes.
    void drop(std::string_view name);

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
        std::shared_ptr<const std::string> id;
        std::uint64_t rev = 0;
        std::shared_ptr<const nlohmann::json> document;  // null for a deleted document
        std::shared_ptr<const std::string> body;
        std::vector<std::optional<Postings::iterator>> positions;  // per field
    };
    struct CollectionIndex {
        std::mutex mutex;
        std::string generation;
        std::vector<std::string> fields;
        bool is_built = false;
        std::uint64_t seq = 0;
        std::chrono::steady_clock::time_point validated_at;
        std::vector<Postings> postings;  // per field
        std::unordered_map<std::string, Entry> entries;
    };

    static std::optional<Key> key_of(const nlohmann::json& value);
    std::shared_ptr<CollectionIndex> index_for(const CollectionInfo& info, bool create);
    Result<void> rebuild(CollectionIndex& index, const CollectionInfo& info);
    Result<void> ensure_fresh(CollectionIndex& index, const CollectionInfo& info);
    static void apply(CollectionIndex& index,
                      std::string_view id,
                      std::uint64_t rev,
                      std::shared_ptr<const nlohmann::json> document,
                      std::shared_ptr<const std::string> body);
    static std::vector<const Entry*> lookup(const CollectionIndex& index,
                                            std::size_t field,
                                            const IndexableComparison& comparison);

    infrastructure::Store& store_;
    ParsedDocumentCache& parsed_;
    std::chrono::milliseconds sync_interval_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<CollectionIndex>> indexes_;
};

}  // namespace nexu::repositories
