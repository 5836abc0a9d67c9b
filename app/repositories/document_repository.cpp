#include "repositories/document_repository.hpp"

#include "config/timing.hpp"
#include "domain/json_body.hpp"

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;

// Iterative, so a hostile value cannot overflow the stack here.
bool is_within_depth(const Json& value, std::size_t max_depth) {
    std::vector<std::pair<const Json*, std::size_t>> stack{{&value, 1}};
    while (!stack.empty()) {
        const auto [node, depth] = stack.back();
        stack.pop_back();
        if (!node->is_structured()) continue;
        if (depth > max_depth) return false;
        for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
    }
    return true;
}

}  // namespace

Result<std::string> DocumentRepository::to_stored(Json document) {
    if (!document.is_object())
        return fail(Errc::invalid_argument, "a document must be a JSON object");
    if (!is_within_depth(document, domain::kMaxJsonDepth)) {
        return fail(Errc::invalid_argument, "document nested too deeply");
    }
    document.erase("_id");
    document.erase("_rev");
    return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<Json> DocumentRepository::from_stored(std::string_view id,
                                             std::uint64_t rev,
                                             std::string_view body) {
    // The body authenticated, so it is our own dump; a parse failure still
    // means damage, never a crash.
    Json document = Json::parse(body, nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
        return fail(Errc::corrupt_object,
                    "stored document " + std::string{id} + " is not a JSON object");
    }
    document["_id"] = id;
    document["_rev"] = rev;
    return document;
}

Result<Json> DocumentRepository::find(std::string_view collection, std::string_view id) const {
    return config::timed("document_find", [&]() -> Result<Json> {
        auto stored = store_.get(collection, id);
        if (!stored) return tl::make_unexpected(stored.error());
        return from_stored(id, stored->rev, *stored->body);
    });
}

Result<Json> DocumentRepository::find_fresh(std::string_view collection, std::string_view id) const {
    auto found = find(collection, id);
    if (found || found.error().code != Errc::not_found) return found;
    if (auto synced = store_.sync(collection); !synced) {
        if (synced.error().code == Errc::not_found) return found;
        return tl::make_unexpected(synced.error());
    }
    return find(collection, id);
}

Result<Json> DocumentRepository::create(std::string_view collection,
                                        std::string_view id,
                                        Json document) {
    return config::timed("document_create", [&]() -> Result<Json> {
        auto body = to_stored(std::move(document));
        if (!body) return tl::make_unexpected(body.error());
        auto written = store_.put(collection, id, *body, std::uint64_t{0});
        if (!written) return tl::make_unexpected(written.error());
        return from_stored(id, written->rev, *body);
    });
}

Result<Json> DocumentRepository::replace(std::string_view collection,
                                         std::string_view id,
                                         Json document,
                                         ExpectedRev expected) {
    return config::timed("document_replace", [&]() -> Result<Json> {
        auto body = to_stored(std::move(document));
        if (!body) return tl::make_unexpected(body.error());
        auto written = store_.put(collection, id, *body, expected);
        if (!written) return tl::make_unexpected(written.error());
        return from_stored(id, written->rev, *body);
    });
}

Result<std::uint64_t> DocumentRepository::remove(std::string_view collection,
                                                 std::string_view id,
                                                 ExpectedRev expected) {
    return config::timed("document_remove", [&]() -> Result<std::uint64_t> {
        auto removed = store_.remove(collection, id, expected);
        if (!removed) return tl::make_unexpected(removed.error());
        return removed->rev;
    });
}

Result<DocumentRepository::Page> DocumentRepository::list(std::string_view collection,
                                                          std::string_view cursor,
                                                          std::size_t limit) const {
    return config::timed("document_list", [&]() -> Result<Page> {
        auto page = store_.list(collection, cursor, limit);
        if (!page) return tl::make_unexpected(page.error());
        Page out;
        out.items.reserve(page->items.size());
        for (const auto& item : page->items) {
            auto document = from_stored(item.id, item.document.rev, *item.document.body);
            if (!document) return tl::make_unexpected(document.error());
            out.items.push_back(std::move(*document));
        }
        out.next_cursor = std::move(page->next_cursor);
        return out;
    });
}

Result<void> DocumentRepository::scan(std::string_view collection,
                                      std::string_view after_id,
                                      const Visitor& visit) const {
    return config::timed("document_scan", [&]() -> Result<void> {
        std::optional<Error> damage;
        std::string id_text;
        auto scanned =
            store_.scan(collection, after_id,
                        [&](std::string_view id, const infrastructure::StoredDocument& doc) {
                            auto document = from_stored(id, doc.rev, *doc.body);
                            if (!document) {
                                damage = document.error();
                                return false;
                            }
                            id_text.assign(id);
                            return visit(id_text, *document);
                        });
        if (!scanned) return scanned;
        if (damage) return tl::make_unexpected(*damage);
        return {};
    });
}

Result<void> DocumentRepository::check_key() const {
    return config::timed("document_check_key", [&] { return store_.check_key(); });
}

Result<std::size_t> DocumentRepository::count(std::string_view collection) const {
    return config::timed("document_count", [&] { return store_.count(collection); });
}

Result<std::uint64_t> DocumentRepository::append(std::string_view collection, const Json& record) {
    return config::timed("document_append", [&]() -> Result<std::uint64_t> {
        if (!is_within_depth(record, domain::kMaxJsonDepth)) {
            return fail(Errc::invalid_argument, "record nested too deeply");
        }
        return store_.append(collection,
                             record.dump(-1, ' ', false, Json::error_handler_t::replace));
    });
}

Result<std::vector<DocumentRepository::Record>> DocumentRepository::read_after(
    std::string_view collection, std::uint64_t after_seq, std::size_t limit) const {
    return config::timed("document_read_after", [&]() -> Result<std::vector<Record>> {
        auto records = store_.read_appended(collection, after_seq, limit);
        if (!records) return tl::make_unexpected(records.error());
        std::vector<Record> out;
        out.reserve(records->size());
        for (const auto& record : *records) {
            Json value = Json::parse(*record.body, nullptr, false);
            if (value.is_discarded()) {
                return fail(Errc::corrupt_object,
                            "record " + std::to_string(record.seq) + " is not JSON");
            }
            out.push_back(Record{record.seq, std::move(value)});
        }
        return out;
    });
}

Result<std::uint64_t> DocumentRepository::sequence(std::string_view collection) const {
    return config::timed("document_sequence", [&] { return store_.sequence(collection); });
}

Result<std::uint64_t> DocumentRepository::wait_for_sequence(
    std::string_view collection, std::uint64_t after_seq, std::chrono::milliseconds timeout) const {
    return store_.wait_for_sequence(collection, after_seq, timeout);
}

}  // namespace nexu::repositories
