#include "repositories/parsed_document_cache.hpp"

#include "config/metrics.hpp"

namespace nexu::repositories {

namespace {

// nlohmann values take several times their text: a measured 1 KiB document
// with nested members parses to about 4-5 KiB of nodes and strings.
constexpr std::size_t kParsedCostFactor = 5;
constexpr std::size_t kEntryOverhead = 256;

}  // namespace

Result<nlohmann::json> ParsedDocumentCache::present(std::string_view id,
                                                    std::uint64_t rev,
                                                    std::string_view body) {
    Json document = Json::parse(body, nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
        return fail(Errc::corrupt_object,
                    "stored document " + std::string{id} + " is not an object");
    }
    document["_id"] = id;
    document["_rev"] = rev;
    return document;
}

void ParsedDocumentCache::append_presented_text(std::string& out,
                                                std::string_view id,
                                                std::uint64_t rev,
                                                std::string_view body) {
    out += "{\"_id\":";
    out += Json(id).dump();
    out += ",\"_rev\":";
    out += std::to_string(rev);
    // The stored body is our own compact dump of an object: "{...}".
    if (body.size() > 2) {
        out += ',';
        out.append(body.substr(1));
    } else {
        out += '}';
    }
}

std::string ParsedDocumentCache::present_text(std::string_view id,
                                              std::uint64_t rev,
                                              std::string_view body) {
    std::string out;
    out.reserve(body.size() + id.size() + 32);
    append_presented_text(out, id, rev, body);
    return out;
}

namespace {

// nexu_cache_lookups_total{cache="parsed_documents",result}: how often a query reuses a parse.
metrics::Counter& lookups(bool is_hit) {
    static auto& hits = metrics::registry().counter(
        "nexu_cache_lookups_total", {{"cache", "parsed_documents"}, {"result", "hit"}});
    static auto& misses = metrics::registry().counter(
        "nexu_cache_lookups_total", {{"cache", "parsed_documents"}, {"result", "miss"}});
    return is_hit ? hits : misses;
}

}  // namespace

Result<std::shared_ptr<const nlohmann::json>> ParsedDocumentCache::get(
    std::string_view id, std::uint64_t rev, const std::shared_ptr<const std::string>& body) {
    {
        std::lock_guard lock{mutex_};
        const auto found = by_body_.find(body.get());
        if (found != by_body_.end()) {
            // The entry holds the body alive, so no other document revision can
            // own this address meanwhile; the revision check is a cheap safety net.
            // A hit only marks the entry (second chance at eviction) instead of
            // moving it: queries touch every document, and relinking list nodes
            // costs more cache misses than the lookup itself.
            auto& entry = *found->second;
            if (entry.rev == rev && entry.id.size() == id.size()) {
                entry.is_referenced = true;
                lookups(true).add();
                return entry.document;
            }
        }
    }
    lookups(false).add();
    auto parsed = present(id, rev, *body);
    if (!parsed) return tl::make_unexpected(parsed.error());
    auto document = std::make_shared<const Json>(std::move(*parsed));
    const auto cost = body->size() * kParsedCostFactor + kEntryOverhead + id.size();
    if (cost > budget_bytes_) return document;
    std::lock_guard lock{mutex_};
    if (const auto found = by_body_.find(body.get()); found != by_body_.end()) {
        used_bytes_ -= found->second->cost;
        lru_.erase(found->second);
        by_body_.erase(found);
    }
    lru_.push_front(Entry{body, document, std::string{id}, rev, cost, false});
    by_body_[body.get()] = lru_.begin();
    used_bytes_ += cost;
    while (used_bytes_ > budget_bytes_ && !lru_.empty()) {
        auto& last = lru_.back();
        if (last.is_referenced && &last != &lru_.front()) {
            last.is_referenced = false;
            lru_.splice(lru_.begin(), lru_, std::prev(lru_.end()));
            continue;
        }
        used_bytes_ -= last.cost;
        by_body_.erase(last.body.get());
        lru_.pop_back();
    }
    return document;
}

std::size_t ParsedDocumentCache::used_bytes() const {
    std::lock_guard lock{mutex_};
    return used_bytes_;
}

std::size_t ParsedDocumentCache::entries() const {
    std::lock_guard lock{mutex_};
    return lru_.size();
}

}  // namespace nexu::repositories
