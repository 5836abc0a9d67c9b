#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "infrastructure/store.hpp"

namespace nexu::repositories {

// JSON documents on the encrypted store, with API.md's `_id`/`_rev`
// semantics: `_rev` is an integer that grows by one on every change of the
// document (delete and re-create included); `_id` and `_rev` are added on
// read and never stored in the body. Generic: system collections (`_users`,
// `_sessions`, ...) use it as the REST documents do; no HTTP here.
//
// Thread-safe (the store is); calls block on disk and fsync, so call them from
// worker threads. Every operation is timed (`document_*` tasks). Errors are
// the store's: not_found, conflict (current_revision_of gives the revision),
// corrupt_object, unavailable, io_error, invalid_argument (not an object,
// too deep, bad id or collection name).
class DocumentRepository {
public:
    using Json = nlohmann::json;
    using ExpectedRev = infrastructure::ExpectedRev;

    struct Page {
        std::vector<Json> items;  // with _id and _rev, in _id order
        std::string next_cursor;  // empty at the end
    };
    struct Record {
        std::uint64_t seq;
        Json value;
    };

    explicit DocumentRepository(infrastructure::Store& store) : store_(store) {}

    // The document with `_id` and `_rev`.
    Result<Json> find(std::string_view collection, std::string_view id) const;
    // find(), but a miss first catches up with other instances' commits, so a
    // document written a moment ago through another instance is found.
    Result<Json> find_fresh(std::string_view collection, std::string_view id) const;
    // Creates; Errc::conflict when the id exists.
    Result<Json> create(std::string_view collection, std::string_view id, Json document);
    // Replaces (or creates when `expected` is nullopt or 0); `expected` = n is
    // If-Match: Errc::conflict unless the current revision is n.
    Result<Json> replace(std::string_view collection,
                         std::string_view id,
                         Json document,
                         ExpectedRev expected = std::nullopt);
    // Errc::not_found when absent; returns the revision of the tombstone.
    Result<std::uint64_t> remove(std::string_view collection,
                                 std::string_view id,
                                 ExpectedRev expected = std::nullopt);
    Result<Page> list(std::string_view collection,
                      std::string_view cursor,
                      std::size_t limit) const;
    // Every document in `_id` order after `after_id`, parsed one at a time
    // (for queries): the visitor returns false to stop early.
    using Visitor = std::function<bool(const std::string& id, const Json& document)>;
    Result<void> scan(std::string_view collection,
                      std::string_view after_id,
                      const Visitor& visit) const;
    Result<std::size_t> count(std::string_view collection) const;

    // The change sequence, for chat: append a record and get its gap-free seq;
    // read records after a seq; wait for new commits (from any instance).
    Result<std::uint64_t> append(std::string_view collection, const Json& record);
    Result<std::vector<Record>> read_after(std::string_view collection,
                                           std::uint64_t after_seq,
                                           std::size_t limit) const;
    Result<std::uint64_t> sequence(std::string_view collection) const;
    Result<std::uint64_t> wait_for_sequence(std::string_view collection,
                                            std::uint64_t after_seq,
                                            std::chrono::milliseconds timeout) const;

    // For /ready: whether the loaded key opens this data directory (the sealed
    // key check object). Errc::invalid_argument "key does not decrypt the data
    // directory" when it does not; I/O errors as usual.
    Result<void> check_key() const;
    // The current revision carried by a conflict error (for a 412), if any.
    static std::optional<std::uint64_t> current_revision_of(const Error& error) {
        return infrastructure::current_revision_of(error);
    }

    // The stored form of a document: `_id` and `_rev` removed, compact JSON.
    // Errc::invalid_argument unless it is an object within the depth limit.
    static Result<std::string> to_stored(Json document);
    // Parses a stored body and adds `_id` and `_rev`.
    static Result<Json> from_stored(std::string_view id, std::uint64_t rev, std::string_view body);

private:
    infrastructure::Store& store_;
};

}  // namespace nexu::repositories
