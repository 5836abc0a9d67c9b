#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nexu::infrastructure {

// Decrypted documents, bounded by a byte budget (bodies, keys and a fixed
// per-entry overhead are counted). Sharded LRU: a hit locks one of 16 shards
// for a list splice. Entries are immutable and shared, so a reader keeps its
// body alive after eviction. Thread-safe.
class DocumentCache {
public:
    struct Entry {
        std::uint64_t rev = 0;
        std::shared_ptr<const std::string> body;
    };
    // What an entry costs beyond its key and body (list node, hash node,
    // control block), so the budget also holds for tiny documents.
    static constexpr std::size_t kEntryOverheadBytes = 160;

    explicit DocumentCache(std::size_t budget_bytes);

    // The cached body of `key` if it is at `rev`.
    std::shared_ptr<const std::string> find(const std::string& key, std::uint64_t rev);
    void insert(const std::string& key, std::uint64_t rev, std::shared_ptr<const std::string> body);
    void erase(const std::string& key);

    std::size_t used_bytes() const;
    std::size_t budget_bytes() const { return shard_budget_bytes_ * kShards; }

private:
    static constexpr std::size_t kShards = 16;
    struct Node {
        std::string key;
        Entry entry;
        std::size_t bytes;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::list<Node> lru;  // most recent first
        std::unordered_map<std::string_view, std::list<Node>::iterator> by_key;
        std::size_t used_bytes = 0;
    };
    Shard& shard_of(const std::string& key);
    void evict_locked(Shard& shard);

    std::size_t shard_budget_bytes_;
    std::array<Shard, kShards> shards_;
};

}  // namespace nexu::infrastructure
