#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/access/collection_rules.hpp"
#include "domain/error.hpp"
#include "infrastructure/store.hpp"

namespace nexu::repositories {

// What the data API knows about one collection.
struct CollectionInfo {
    std::string name;
    domain::access::CollectionRules rules;
    std::vector<std::string> indexes;  // declared field indexes, e.g. {"age", "email"}
    // Random per incarnation: documents live in the store collection `name`
    // under ids "<generation>.<id>", so deleting the collection (which drops
    // this record) makes every document of the old incarnation unreachable
    // at once on every instance, and a re-created collection starts empty
    // even if a stale instance writes into the old one afterwards.
    std::string generation;
    std::uint64_t rev = 0;  // revision of the metadata record

    std::string store_id(std::string_view id) const;
    std::string key_prefix() const { return generation + "."; }
};

// Collection metadata in the system collection `_collections` (one record per
// collection: rules, indexes, generation), on the store, so every instance
// sharing the data directory sees the same collections.
//
// Thread-safe; blocks on disk, call it from workers. Parsed records are
// cached by revision (a store read per lookup stays, so other instances'
// changes are seen within the store's sync interval). Errors are the store's;
// invalid_argument for a bad name, rule or index field.
class CollectionRepository {
public:
    static constexpr std::string_view kSystemCollection = "_collections";

    explicit CollectionRepository(infrastructure::Store& store) : store_(store) {}

    Result<CollectionInfo> find(std::string_view name);

    struct Saved {
        CollectionInfo info;
        bool is_created = false;
    };
    // Creates the collection, or changes its rules and indexes (keeping its
    // documents). Safe against concurrent saves on any instance (CAS on the record).
    Result<Saved> save(std::string_view name,
                       const domain::access::CollectionRules& rules,
                       std::vector<std::string> indexes);
    // Deletes the record (its documents become unreachable at once), then
    // removes the documents of that incarnation. not_found when absent.
    Result<CollectionInfo> remove(std::string_view name);
    // Every collection, in name order.
    Result<std::vector<CollectionInfo>> list();

    // Index fields: [A-Za-z_][A-Za-z0-9_]{0,63}, not starting with '_'.
    static bool is_valid_index_field(std::string_view field);
    static domain::access::CollectionRules default_rules();

private:
    Result<CollectionInfo> decode(std::string_view name,
                                  std::uint64_t rev,
                                  const std::string& body);
    static std::string encode(const CollectionInfo& info);
    void purge_generation(const CollectionInfo& info);

    infrastructure::Store& store_;
    std::mutex mutex_;
    std::unordered_map<std::string, CollectionInfo> cache_;  // by name, checked by rev
};

}  // namespace nexu::repositories
