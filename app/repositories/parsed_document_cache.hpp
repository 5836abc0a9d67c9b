#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"

namespace nexu::repositories {

// Parsed documents, so a query over a collection does not re-parse every
// document's JSON text (about 10 µs per 1 KiB) on every request.
//
// Keyed by the identity of the store's decrypted body (the shared string the
// store's cache hands out for one revision of one document): a hit needs no
// hashing of ids; the entry keeps that body alive, so its address cannot be
// reused for another document while the entry exists, and the id and revision
// are checked on every hit anyway. The value is the document as clients see
// it: the stored body plus `_id` and `_rev`. Immutable once made, shared.
//
// Bounded: an entry costs an estimate of its parsed size (a multiple of the
// text); beyond the budget, entries are evicted in insertion order with a
// second chance for those hit since (CLOCK). Thread-safe.
class ParsedDocumentCache {
public:
    using Json = nlohmann::json;

    explicit ParsedDocumentCache(std::size_t budget_bytes) : budget_bytes_(budget_bytes) {}

    // The presented document for this stored revision, parsed once.
    // Errc::corrupt_object when the body is not a JSON object.
    Result<std::shared_ptr<const Json>> get(std::string_view id,
                                            std::uint64_t rev,
                                            const std::shared_ptr<const std::string>& body);

    std::size_t used_bytes() const;
    std::size_t entries() const;

    // Parses a stored body and adds `_id` and `_rev` (no caching).
    static Result<Json> present(std::string_view id, std::uint64_t rev, std::string_view body);
    // The presented document as JSON text, spliced from the stored text
    // (`{"_id":..,"_rev":..,` + the stored members) without parsing it.
    static std::string present_text(std::string_view id, std::uint64_t rev, std::string_view body);
    static void append_presented_text(std::string& out,
                                      std::string_view id,
                                      std::uint64_t rev,
                                      std::string_view body);

private:
    struct Entry {
        std::shared_ptr<const std::string> body;
        std::shared_ptr<const Json> document;
        std::string id;
        std::uint64_t rev = 0;
        std::size_t cost = 0;
        bool is_referenced = false;  // hit since it last reached the eviction end
    };
    using Lru = std::list<Entry>;

    std::size_t budget_bytes_;
    mutable std::mutex mutex_;
    Lru lru_;  // newest (or re-prieved) first
    std::unordered_map<const std::string*, Lru::iterator> by_body_;
    std::size_t used_bytes_ = 0;
};

}  // namespace nexu::repositories
