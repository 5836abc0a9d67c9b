#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "domain/access/collection_rules.hpp"
#include "domain/error.hpp"
#include "infrastructure/store.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/parsed_document_cache.hpp"

namespace nexu::repositories {

class FieldIndexes;

// Why a data operation did not happen, in the terms the HTTP edge answers
// with (API.md "Details clients rely on"): a caller that may not read is told
// "not found" (or, anonymous, "unauthorized"); one that may read but not
// write, "forbidden".
struct DataFailure {
    enum class Kind {
        storage,              // `error` says what (not_found, unavailable, corrupt_object, ...)
        not_found,            // collection or document, or not visible to the caller
        unauthorized,         // anonymous and the rule needs a user
        forbidden,            // visible but not writable
        precondition_failed,  // If-Match / If-None-Match
        bad_request,          // cannot be parsed: bad id, `_` field, bad cursor
        unprocessable,        // well-formed but breaks a rule: not an object
    };
    Kind kind = Kind::storage;
    std::string detail;  // safe to show to the client
    Error error{Errc::io_error, {}};
};

template <class T>
using DataResult = tl::expected<T, DataFailure>;

// One document revision as the API shows it.
struct DocumentView {
    std::string id;
    std::uint64_t rev = 0;
    std::shared_ptr<const std::string> body;         // stored text, without _id/_rev
    std::shared_ptr<const nlohmann::json> document;  // presented: with _id, _rev

    std::string owner() const;
    std::string to_json() const;  // presented text, spliced without a dump
};

// HTTP preconditions, parsed by the edge: If-Match (`*` or revisions) and
// If-None-Match: * (create only).
struct WritePreconditions {
    bool has_if_match = false;
    bool if_match_any = false;
    std::vector<std::uint64_t> if_match_revs;
    bool if_none_match_any = false;

    bool matches(std::uint64_t rev) const;
};

// The data API's documents: server fields (`_id` UUIDv7, `_rev`, `_owner`,
// `_created_at`, `_updated_at`), access rules on every operation, If-Match
// as a compare-and-set on the store (so it holds across instances), pages in
// `_id` order with opaque cursors.
//
// Thread-safe; blocks on disk: call from workers. Every write is noted in the
// field indexes (when given) so they follow this instance's writes at once.
class DocumentService {
public:
    using Json = nlohmann::json;
    using Principal = domain::access::Principal;

    static constexpr std::size_t kDefaultPageSize = 50;
    static constexpr std::size_t kMaxPageSize = 1000;

    DocumentService(infrastructure::Store& store,
                    CollectionRepository& collections,
                    ParsedDocumentCache& parsed,
                    infrastructure::UuidV7Generator& ids,
                    FieldIndexes* indexes = nullptr)
        : store_(store), collections_(collections), parsed_(parsed), ids_(ids), indexes_(indexes) {}

    // The collection, if it exists and the caller may read or write in it
    // (otherwise not_found, or unauthorized for an anonymous caller).
    DataResult<CollectionInfo> collection(const Principal& caller, std::string_view name);

    DataResult<DocumentView> get(const Principal& caller,
                                 std::string_view name,
                                 std::string_view id);
    DataResult<DocumentView> create(const Principal& caller, std::string_view name, Json body);
    struct Replaced {
        DocumentView view;
        bool is_created = false;
    };
    DataResult<Replaced> replace(const Principal& caller,
                                 std::string_view name,
                                 std::string_view id,
                                 Json body,
                                 const WritePreconditions& conditions);
    DataResult<DocumentView> patch(const Principal& caller,
                                   std::string_view name,
                                   std::string_view id,
                                   const Json& patch,
                                   const WritePreconditions& conditions);
    DataResult<void> remove(const Principal& caller,
                            std::string_view name,
                            std::string_view id,
                            const WritePreconditions& conditions);

    struct Page {
        std::vector<DocumentView> items;
        std::string next_cursor;  // empty on the last page
    };
    DataResult<Page> list(const Principal& caller,
                          std::string_view name,
                          std::string_view cursor,
                          std::size_t limit);

    // How many documents of `info` the caller may read.
    DataResult<std::size_t> count_readable(const Principal& caller, const CollectionInfo& info);

    // Loads one document of `info` (no access check): nullopt when absent.
    // Reads may be up to the sync interval behind other instances' writes...
    Result<std::optional<DocumentView>> load(const CollectionInfo& info, std::string_view id);
    // ...so a miss, or a revision a precondition does not accept, is checked
    // again after catching up: a document created or changed on another
    // instance a moment ago is never answered 404 or 412 from a stale view.
    Result<std::optional<DocumentView>> load_fresh(
        const CollectionInfo& info,
        std::string_view id,
        const std::function<bool(std::uint64_t rev)>& is_acceptable = {});
    // Visits the documents of `info` with client id > `after_id` in id order,
    // parsed through the cache; the visitor returns false to stop.
    using Visitor = std::function<bool(const DocumentView& view)>;
    Result<void> scan(const CollectionInfo& info, std::string_view after_id, const Visitor& visit);

    static bool is_valid_id(std::string_view id);
    // "2026-11-23T15:04:05.123Z"
    static std::string now_rfc3339();
    static std::string encode_cursor(std::string_view id);
    static std::optional<std::string> decode_cursor(std::string_view cursor);
    // The first top-level member name starting with '_', if any.
    static std::optional<std::string> reserved_field(const Json& body);

private:
    DataResult<DocumentView> write(const CollectionInfo& info,
                                   std::string_view id,
                                   Json stored,
                                   infrastructure::ExpectedRev expected);
    void note_write(const CollectionInfo& info,
                    std::string_view id,
                    const infrastructure::WriteOutcome& outcome,
                    const DocumentView* view);

    infrastructure::Store& store_;
    CollectionRepository& collections_;
    ParsedDocumentCache& parsed_;
    infrastructure::UuidV7Generator& ids_;
    FieldIndexes* indexes_;
};

// Helpers shared with the query service.
DataFailure storage_failure(const Error& error);
DataFailure denial(const domain::access::Principal& caller, bool is_readable);

}  // namespace nexu::repositories
