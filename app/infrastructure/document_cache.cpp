#include "infrastructure/document_cache.hpp"

#include <functional>

#include "config/metrics.hpp"

namespace nexu::infrastructure {

namespace {

// nexu_cache_lookups_total{cache="documents",result}: the hit rate of the decrypted-document cache.
metrics::Counter& lookups(bool is_hit) {
    static auto& hits = metrics::registry().counter(
        "nexu_cache_lookups_total", {{"cache", "documents"}, {"result", "hit"}});
    static auto& misses = metrics::registry().counter(
        "nexu_cache_lookups_total", {{"cache", "documents"}, {"result", "miss"}});
    return is_hit ? hits : misses;
}

}  // namespace

DocumentCache::DocumentCache(std::size_t budget_bytes)
    : shard_budget_bytes_(budget_bytes / kShards) {}

DocumentCache::Shard& DocumentCache::shard_of(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % kShards];
}

std::shared_ptr<const std::string> DocumentCache::find(const std::string& key, std::uint64_t rev) {
    Shard& shard = shard_of(key);
    std::lock_guard lock{shard.mutex};
    const auto found = shard.by_key.find(key);
    const bool is_hit = found != shard.by_key.end() && found->second->entry.rev == rev;
    lookups(is_hit).add();
    if (!is_hit) return nullptr;
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
    return found->second->entry.body;
}

void DocumentCache::insert(const std::string& key,
                           std::uint64_t rev,
                           std::shared_ptr<const std::string> body) {
    const std::size_t bytes = kEntryOverheadBytes + 2 * key.size() + body->size();
    Shard& shard = shard_of(key);
    std::lock_guard lock{shard.mutex};
    if (const auto found = shard.by_key.find(key); found != shard.by_key.end()) {
        // Never replace a newer revision with an older one read concurrently.
        if (found->second->entry.rev > rev) return;
        shard.used_bytes -= found->second->bytes;
        shard.lru.erase(found->second);
        shard.by_key.erase(found);
    }
    if (bytes > shard_budget_bytes_) return;  // larger than a whole shard: not worth caching
    shard.lru.push_front(Node{key, Entry{rev, std::move(body)}, bytes});
    shard.by_key.emplace(shard.lru.front().key, shard.lru.begin());
    shard.used_bytes += bytes;
    evict_locked(shard);
}

void DocumentCache::erase(const std::string& key) {
    Shard& shard = shard_of(key);
    std::lock_guard lock{shard.mutex};
    const auto found = shard.by_key.find(key);
    if (found == shard.by_key.end()) return;
    shard.used_bytes -= found->second->bytes;
    shard.lru.erase(found->second);
    shard.by_key.erase(found);
}

void DocumentCache::evict_locked(Shard& shard) {
    while (shard.used_bytes > shard_budget_bytes_ && !shard.lru.empty()) {
        auto& last = shard.lru.back();
        shard.used_bytes -= last.bytes;
        shard.by_key.erase(last.key);
        shard.lru.pop_back();
    }
}

std::size_t DocumentCache::used_bytes() const {
    std::size_t total = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock{shard.mutex};
        total += shard.used_bytes;
    }
    return total;
}

}  // namespace nexu::infrastructure
