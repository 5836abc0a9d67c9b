#include "repositories/query_service.hpp"

#include <charconv>
#include <optional>
#include <unordered_map>

#include "config/timing.hpp"
#include "domain/jsonpath/query.hpp"
#include "repositories/query_plan.hpp"

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;
using domain::access::Action;
using domain::access::collection_access;
using Kind = DataFailure::Kind;
using Clock = std::chrono::steady_clock;

// Where the next page starts: in document mode, "document D, after its first
// K results" (stable while documents are added or removed elsewhere); in
// offset mode (queries whose results do not come document by document),
// after the first N results.
struct QueryCursor {
    bool is_offset = false;
    std::string id;
    std::uint64_t count = 0;  // K or N
};

std::string hex_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() * 2);
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        out += kHex[byte >> 4];
        out += kHex[byte & 0xF];
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0 || text.size() > 600) return std::nullopt;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int high = nibble(text[i]);
        const int low = nibble(text[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
    }
    return out;
}

std::string encode_cursor(const QueryCursor& cursor) {
    if (cursor.is_offset) return hex_encode("o:" + std::to_string(cursor.count));
    return hex_encode("d:" + std::to_string(cursor.count) + ":" + cursor.id);
}

std::optional<QueryCursor> decode_cursor(std::string_view text) {
    auto plain = hex_decode(text);
    if (!plain || plain->size() < 3 || (*plain)[1] != ':') return std::nullopt;
    QueryCursor cursor;
    cursor.is_offset = (*plain)[0] == 'o';
    if (!cursor.is_offset && (*plain)[0] != 'd') return std::nullopt;
    std::string_view rest{*plain};
    rest.remove_prefix(2);
    const auto colon = cursor.is_offset ? rest.size() : rest.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const auto digits = rest.substr(0, colon);
    const auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), cursor.count);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    if (!cursor.is_offset) {
        cursor.id = std::string{rest.substr(colon + 1)};
        if (!DocumentService::is_valid_id(cursor.id)) return std::nullopt;
    }
    return cursor;
}

tl::unexpected<DataFailure> refuse(Kind kind,
                                   std::string detail,
                                   Errc code = Errc::invalid_argument) {
    return tl::make_unexpected(DataFailure{kind, std::move(detail), Error{code, {}}});
}

std::string_view owner_of(const Json& document) {
    const auto owner = document.find("_owner");
    if (owner == document.end() || !owner->is_string()) return {};
    return owner->get_ref<const std::string&>();
}

}  // namespace

DataResult<std::string> QueryService::run(const domain::access::Principal& caller,
                                          std::string_view collection,
                                          std::string_view jsonpath,
                                          std::size_t limit,
                                          std::string_view cursor_text) {
    return config::timed("data_query", [&]() -> DataResult<std::string> {
        auto info = documents_.collection(caller, collection);
        if (!info) return tl::make_unexpected(info.error());
        const auto read = collection_access(caller, collection, info->rules, Action::read);
        if (!read.allowed) return tl::make_unexpected(denial(caller, false));

        auto query = domain::jsonpath::Query::compile(jsonpath);
        if (!query) {
            return refuse(Kind::bad_request, "Invalid JSONPath query " + query.error().context);
        }
        const auto plan = plan_query(jsonpath);
        std::optional<QueryCursor> cursor;
        if (!cursor_text.empty()) {
            cursor = decode_cursor(cursor_text);
            if (!cursor || cursor->is_offset == plan.is_member_ordered) {
                return refuse(Kind::bad_request, "Invalid cursor.");
            }
        }

        // The documents to visit: an index's candidates, else the
        // collection's snapshot, else (no snapshot within budget) a scan.
        std::optional<FieldIndexes::Members> candidates;
        std::shared_ptr<const FieldIndexes::Members> snapshot;
        if (indexes_ != nullptr && !plan.comparisons.empty()) {
            auto found = indexes_->candidates(*info, plan.comparisons);
            if (!found) return tl::make_unexpected(storage_failure(found.error()));
            candidates = std::move(*found);
        }
        if (indexes_ != nullptr && !candidates) {
            auto found = indexes_->snapshot(*info);
            if (!found) return tl::make_unexpected(storage_failure(found.error()));
            snapshot = std::move(*found);
        }
        const FieldIndexes::Members* members = candidates ? &*candidates : snapshot.get();

        const auto deadline = Clock::now() + settings_.timeout;
        bool is_timed_out = false;
        std::optional<Error> failure;
        const std::string start_id = cursor && !cursor->is_offset ? cursor->id : std::string{};
        const auto visible = [&](const Json& document) {
            return read.covers_all ||
                   (!caller.user_id.empty() && owner_of(document) == caller.user_id);
        };

        // The member being visited, so a whole-document result is written
        // from its stored text instead of being dumped again.
        const Json* current_document = nullptr;
        const std::string* current_body = nullptr;
        std::string_view current_id;  // valid while the member is visited
        std::size_t visited = 0;
        const auto still_in_time = [&] {
            if (++visited % 64 != 0) return true;
            if (Clock::now() < deadline) return true;
            is_timed_out = true;
            return false;
        };
        const auto visit_one = [&](std::string_view id,
                                   const infrastructure::StoredDocument& stored,
                                   const domain::jsonpath::CollectionRoot::MemberVisitor& visit) {
            if (!still_in_time()) return false;
            auto document = parsed_.get(id, stored.rev, stored.body);
            if (!document) {
                failure = document.error();
                return false;
            }
            if (!visible(**document)) return true;
            current_document = document->get();
            current_body = stored.body.get();
            current_id = id;
            const bool more = visit(id, **document);
            current_document = nullptr;
            current_body = nullptr;
            return more;
        };
        const auto load_and_visit =
            [&](const std::string& id,
                const domain::jsonpath::CollectionRoot::MemberVisitor& visit) {
                auto stored = store_.get(info->name, info->store_id(id));
                if (!stored) {
                    if (stored.error().code == Errc::not_found) return true;
                    failure = stored.error();
                    return false;
                }
                return visit_one(id, *stored, visit);
            };

        domain::jsonpath::CollectionRoot root;
        root.for_each_member = [&](const domain::jsonpath::CollectionRoot::MemberVisitor& visit) {
            if (failure || is_timed_out) return;
            if (members != nullptr) {
                // Each member holds its document's parsed current revision:
                // no store lookup per document.
                // From the cursor's document itself (its remaining results).
                auto it = std::lower_bound(
                    members->begin(), members->end(), start_id,
                    [](const std::shared_ptr<const FieldIndexes::Member>& member,
                       const std::string& id) { return member->id < id; });
                // Each member's record and document are cold in memory: ask
                // for the ones a few steps ahead while this one is evaluated.
                constexpr std::ptrdiff_t kRecordsAhead = 12;
                constexpr std::ptrdiff_t kDocumentsAhead = 8;
                constexpr std::ptrdiff_t kObjectsAhead = 4;
                for (; it != members->end(); ++it) {
                    const auto left = members->end() - it;
                    if (left > kRecordsAhead) __builtin_prefetch(it[kRecordsAhead].get());
                    if (left > kDocumentsAhead)
                        __builtin_prefetch(it[kDocumentsAhead]->document.get());
                    if (left > kObjectsAhead) {
                        __builtin_prefetch(
                            it[kObjectsAhead]->document->get_ptr<const Json::object_t*>());
                    }
                    const auto& member = **it;
                    if (!still_in_time()) return;
                    if (!visible(*member.document)) continue;
                    current_document = member.document.get();
                    current_body = member.body.get();
                    current_id = member.id;
                    const bool more = visit(member.id, *member.document);
                    current_document = nullptr;
                    current_body = nullptr;
                    if (!more) return;
                }
                return;
            }
            if (!start_id.empty() && !load_and_visit(start_id, visit)) return;
            const auto prefix = info->key_prefix();
            const auto after = start_id.empty() ? prefix : info->store_id(start_id);
            auto scanned = store_.scan(
                info->name, after,
                [&](std::string_view store_id, const infrastructure::StoredDocument& stored) {
                    if (!store_id.starts_with(prefix)) return false;
                    return visit_one(store_id.substr(prefix.size()), stored, visit);
                });
            if (!scanned && !failure) failure = scanned.error();
        };
        std::unordered_map<std::string, std::shared_ptr<const Json>> found_members;
        root.find_member = [&](std::string_view id) -> const Json* {
            if (failure || !DocumentService::is_valid_id(id)) return nullptr;
            std::string key{id};
            if (const auto found = found_members.find(key); found != found_members.end()) {
                return found->second.get();
            }
            auto loaded = documents_.load(*info, id);
            if (!loaded) {
                failure = loaded.error();
                return nullptr;
            }
            std::shared_ptr<const Json> document;
            if (*loaded && visible(*(*loaded)->document)) document = (*loaded)->document;
            return (found_members[key] = std::move(document)).get();
        };
        std::optional<Json> whole;
        root.materialize = [&]() -> const Json* {
            if (whole) return &*whole;
            Json object = Json::object();
            std::size_t count = 0;
            bool is_too_big = false;
            auto scanned = documents_.scan(*info, {}, [&](const DocumentView& view) {
                if (!visible(*view.document)) return true;
                if (++count > settings_.max_materialized_documents) {
                    is_too_big = true;
                    return false;
                }
                object[view.id] = *view.document;
                return true;
            });
            if (!scanned) {
                failure = scanned.error();
                return nullptr;
            }
            if (is_too_big) return nullptr;
            whole = std::move(object);
            return &*whole;
        };

        std::string results = "[";
        std::string paths = "[";
        std::size_t delivered = 0;
        std::uint64_t skipped = 0;
        const std::uint64_t to_skip = cursor ? cursor->count : 0;
        bool has_more = false;
        std::string last_id;
        std::uint64_t last_count =
            0;  // results of last_id delivered so far, earlier pages included
        std::string path_text;
        const auto sink = [&](const Json& value, const domain::jsonpath::NormalizedPath& path) {
            const auto elements = path.elements();
            std::string_view member;
            if (!elements.empty() && !elements[0].is_index) member = elements[0].name;
            if (cursor) {
                if (cursor->is_offset && skipped < to_skip) {
                    ++skipped;
                    return true;
                }
                if (!cursor->is_offset && member == start_id && skipped < to_skip) {
                    ++skipped;
                    return true;
                }
            }
            if (delivered == limit) {
                has_more = true;
                return false;
            }
            if (delivered != 0) {
                results += ',';
                paths += ',';
            }
            if (&value == current_document && elements.size() == 1 && current_body != nullptr) {
                ParsedDocumentCache::append_presented_text(
                    results, current_id, value["_rev"].get<std::uint64_t>(), *current_body);
            } else {
                results += value.dump(-1, ' ', false, Json::error_handler_t::replace);
            }
            path_text.clear();
            path.append_to(path_text);
            paths += Json(path_text).dump(-1, ' ', false, Json::error_handler_t::replace);
            if (member != last_id) {
                last_count = (cursor && !cursor->is_offset && member == start_id) ? to_skip : 0;
                last_id.assign(member);
            }
            ++last_count;
            ++delivered;
            return true;
        };
        domain::jsonpath::EvaluationBudget budget;
        budget.max_nodes_visited = settings_.max_nodes_visited;
        auto evaluated = query->evaluate(root, sink, budget);
        if (failure) return tl::make_unexpected(storage_failure(*failure));
        if (is_timed_out) {
            return refuse(Kind::storage, "The query took too long.", Errc::unavailable);
        }
        if (!evaluated) {
            if (evaluated.error().code == Errc::limit_exceeded) {
                return refuse(Kind::unprocessable, "The query needs more work than allowed: " +
                                                       evaluated.error().context);
            }
            return refuse(
                Kind::unprocessable,
                "This query needs the whole collection as one value, which is too large.");
        }
        results += ']';
        paths += ']';
        std::string body;
        body.reserve(results.size() + paths.size() + 64);
        body += "{\"results\":";
        body += results;
        body += ",\"paths\":";
        body += paths;
        body += ",\"next_cursor\":";
        if (has_more) {
            QueryCursor next;
            if (plan.is_member_ordered) {
                next.id = last_id;
                next.count = last_count;
            } else {
                next.is_offset = true;
                next.count = to_skip + delivered;
            }
            body += '"';
            body += encode_cursor(next);
            body += '"';
        } else {
            body += "null";
        }
        body += '}';
        return body;
    });
}

}  // namespace nexu::repositories
