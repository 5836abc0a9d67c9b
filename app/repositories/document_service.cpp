#include "repositories/document_service.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "config/timing.hpp"
#include "domain/merge_patch.hpp"
#include "repositories/field_indexes.hpp"

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;
using domain::access::Action;
using domain::access::collection_access;
using domain::access::may_access_document;
using Kind = DataFailure::Kind;

// Lost compare-and-set races retried for writes without If-Match (they only
// need the owner and creation time of the revision they replace).
constexpr int kMaxWriteAttempts = 16;

tl::unexpected<DataFailure> refuse(Kind kind, std::string detail) {
    return tl::make_unexpected(
        DataFailure{kind, std::move(detail), Error{Errc::invalid_argument, {}}});
}

tl::unexpected<DataFailure> refuse(DataFailure failure) {
    return tl::make_unexpected(std::move(failure));
}

DataFailure document_not_found() {
    return DataFailure{Kind::not_found, "No such document.", Error{Errc::not_found, {}}};
}

DataFailure precondition_failed() {
    return DataFailure{Kind::precondition_failed,
                       "The document's current revision does not match the request's precondition.",
                       Error{Errc::conflict, {}}};
}

bool is_server_field(std::string_view name) {
    return name == "_id" || name == "_rev" || name == "_owner" || name == "_created_at" ||
           name == "_updated_at";
}

Json owner_value(const domain::access::Principal& caller) {
    return caller.is_authenticated() ? Json(caller.user_id) : Json(nullptr);
}

std::string json_owner(const Json& document) {
    const auto owner = document.find("_owner");
    if (owner == document.end() || !owner->is_string()) return {};
    return owner->get<std::string>();
}

}  // namespace

DataFailure storage_failure(const Error& error) {
    if (error.code == Errc::not_found) {
        return DataFailure{Kind::not_found, "No such document.", error};
    }
    return DataFailure{Kind::storage, {}, error};
}

DataFailure denial(const domain::access::Principal& caller, bool is_readable) {
    // Without a token the answer is always 401: logging in may help.
    if (!caller.is_authenticated()) {
        return DataFailure{Kind::unauthorized, "A valid access token is required.",
                           Error{Errc::invalid_argument, {}}};
    }
    if (is_readable) {
        return DataFailure{Kind::forbidden, "You may read this but not change it.",
                           Error{Errc::invalid_argument, {}}};
    }
    return DataFailure{Kind::not_found, "No such collection or document.",
                       Error{Errc::not_found, {}}};
}

bool WritePreconditions::matches(std::uint64_t rev) const {
    if (if_match_any) return true;
    return std::find(if_match_revs.begin(), if_match_revs.end(), rev) != if_match_revs.end();
}

std::string DocumentView::owner() const {
    return document ? json_owner(*document) : std::string{};
}

std::string DocumentView::to_json() const {
    return ParsedDocumentCache::present_text(id, rev, *body);
}

bool DocumentService::is_valid_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    const auto is_alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!is_alnum(id[0])) return false;
    return std::all_of(id.begin(), id.end(),
                       [&](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

std::string DocumentService::now_rfc3339() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    const auto written = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms.count() % 1000));
    return std::string{text, written} + millis;
}

std::string DocumentService::encode_cursor(std::string_view id) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(id.size() * 2);
    for (const char c : id) {
        const auto byte = static_cast<unsigned char>(c);
        out += kHex[byte >> 4];
        out += kHex[byte & 0xF];
    }
    return out;
}

std::optional<std::string> DocumentService::decode_cursor(std::string_view cursor) {
    if (cursor.empty() || cursor.size() % 2 != 0 || cursor.size() > 256) return std::nullopt;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < cursor.size(); i += 2) {
        const int high = nibble(cursor[i]);
        const int low = nibble(cursor[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
    }
    if (!is_valid_id(out)) return std::nullopt;
    return out;
}

std::optional<std::string> DocumentService::reserved_field(const Json& body) {
    if (!body.is_object()) return std::nullopt;
    for (const auto& [key, value] : body.items()) {
        if (!key.empty() && key[0] == '_') return key;
    }
    return std::nullopt;
}

DataResult<CollectionInfo> DocumentService::collection(const Principal& caller,
                                                       std::string_view name) {
    auto info = collections_.find(name);
    if (!info) {
        if (info.error().code == Errc::not_found) {
            return refuse(DataFailure{Kind::not_found, "No such collection.", info.error()});
        }
        return refuse(storage_failure(info.error()));
    }
    const bool may_read = collection_access(caller, name, info->rules, Action::read).allowed;
    const bool may_write = collection_access(caller, name, info->rules, Action::write).allowed;
    if (!may_read && !may_write) return refuse(denial(caller, false));
    return std::move(*info);
}

Result<std::optional<DocumentView>> DocumentService::load(const CollectionInfo& info,
                                                          std::string_view id) {
    auto stored = store_.get(info.name, info.store_id(id));
    if (!stored) {
        if (stored.error().code == Errc::not_found) return std::optional<DocumentView>{};
        return tl::make_unexpected(stored.error());
    }
    auto document = parsed_.get(id, stored->rev, stored->body);
    if (!document) return tl::make_unexpected(document.error());
    return std::optional<DocumentView>{
        DocumentView{std::string{id}, stored->rev, stored->body, std::move(*document)}};
}

Result<std::optional<DocumentView>> DocumentService::load_fresh(
    const CollectionInfo& info,
    std::string_view id,
    const std::function<bool(std::uint64_t rev)>& is_acceptable) {
    auto current = load(info, id);
    if (!current) return current;
    if (*current && (!is_acceptable || is_acceptable((*current)->rev))) return current;
    if (auto synced = store_.sync(info.name); !synced) return tl::make_unexpected(synced.error());
    return load(info, id);
}

Result<void> DocumentService::scan(const CollectionInfo& info,
                                   std::string_view after_id,
                                   const Visitor& visit) {
    const auto prefix = info.key_prefix();
    const auto start = after_id.empty() ? prefix : info.store_id(after_id);
    std::optional<Error> damage;
    auto scanned = store_.scan(
        info.name, start, [&](std::string_view id, const infrastructure::StoredDocument& stored) {
            if (!id.starts_with(prefix)) return false;
            const auto client_id = id.substr(prefix.size());
            auto document = parsed_.get(client_id, stored.rev, stored.body);
            if (!document) {
                damage = document.error();
                return false;
            }
            return visit(DocumentView{std::string{client_id}, stored.rev, stored.body,
                                      std::move(*document)});
        });
    if (!scanned) return scanned;
    if (damage) return tl::make_unexpected(*damage);
    return {};
}

void DocumentService::note_write(const CollectionInfo& info,
                                 std::string_view id,
                                 const infrastructure::WriteOutcome& outcome,
                                 const DocumentView* view) {
    if (indexes_ == nullptr) return;
    indexes_->note_write(info, id, outcome.rev, outcome.seq,
                         view != nullptr ? view->document : nullptr,
                         view != nullptr ? view->body : nullptr);
}

DataResult<DocumentView> DocumentService::write(const CollectionInfo& info,
                                                std::string_view id,
                                                Json stored,
                                                infrastructure::ExpectedRev expected) {
    auto text = stored.dump(-1, ' ', false, Json::error_handler_t::replace);
    auto body = std::make_shared<const std::string>(text);
    auto written = store_.put(info.name, info.store_id(id), std::move(text), expected);
    if (!written) {
        if (written.error().code == Errc::conflict) return refuse(precondition_failed());
        return refuse(storage_failure(written.error()));
    }
    stored["_id"] = id;
    stored["_rev"] = written->rev;
    DocumentView view{std::string{id}, written->rev, std::move(body),
                      std::make_shared<const Json>(std::move(stored))};
    note_write(info, id, *written, &view);
    return view;
}

DataResult<DocumentView> DocumentService::get(const Principal& caller,
                                              std::string_view name,
                                              std::string_view id) {
    return config::timed("data_document_get", [&]() -> DataResult<DocumentView> {
        auto info = collection(caller, name);
        if (!info) return refuse(info.error());
        const auto read = collection_access(caller, name, info->rules, Action::read);
        if (!read.allowed) return refuse(denial(caller, false));
        if (!is_valid_id(id)) return refuse(Kind::bad_request, "Invalid document id.");
        auto current = load_fresh(*info, id);
        if (!current) return refuse(storage_failure(current.error()));
        if (!*current) return refuse(document_not_found());
        if (!read.covers_all && (*current)->owner() != caller.user_id) {
            return refuse(document_not_found());
        }
        return std::move(**current);
    });
}

DataResult<DocumentView> DocumentService::create(const Principal& caller,
                                                 std::string_view name,
                                                 Json body) {
    return config::timed("data_document_create", [&]() -> DataResult<DocumentView> {
        auto info = collection(caller, name);
        if (!info) return refuse(info.error());
        if (!body.is_object())
            return refuse(Kind::unprocessable, "A document must be a JSON object.");
        if (auto field = reserved_field(body)) {
            return refuse(Kind::bad_request,
                          "Fields starting with '_' are set by the server: " + *field);
        }
        if (!collection_access(caller, name, info->rules, Action::write).allowed) {
            return refuse(
                denial(caller, collection_access(caller, name, info->rules, Action::read).allowed));
        }
        const auto now = now_rfc3339();
        body["_owner"] = owner_value(caller);
        body["_created_at"] = now;
        body["_updated_at"] = now;
        return write(*info, ids_.next(), std::move(body), std::uint64_t{0});
    });
}

DataResult<DocumentService::Replaced> DocumentService::replace(
    const Principal& caller,
    std::string_view name,
    std::string_view id,
    Json body,
    const WritePreconditions& conditions) {
    return config::timed("data_document_replace", [&]() -> DataResult<Replaced> {
        auto info = collection(caller, name);
        if (!info) return refuse(info.error());
        if (!is_valid_id(id)) return refuse(Kind::bad_request, "Invalid document id.");
        if (!body.is_object())
            return refuse(Kind::unprocessable, "A document must be a JSON object.");
        if (auto field = reserved_field(body)) {
            return refuse(Kind::bad_request,
                          "Fields starting with '_' are set by the server: " + *field);
        }
        const auto acceptable = [&](std::uint64_t rev) {
            return !conditions.has_if_match || conditions.matches(rev);
        };
        for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
            auto current = load_fresh(*info, id, acceptable);
            if (!current) return refuse(storage_failure(current.error()));
            Json stored = body;
            const auto now = now_rfc3339();
            if (!*current) {
                if (!collection_access(caller, name, info->rules, Action::write).allowed) {
                    return refuse(
                        denial(caller,
                               collection_access(caller, name, info->rules, Action::read).allowed));
                }
                if (conditions.has_if_match) return refuse(precondition_failed());
                stored["_owner"] = owner_value(caller);
                stored["_created_at"] = now;
                stored["_updated_at"] = now;
                auto written = write(*info, id, std::move(stored), std::uint64_t{0});
                if (written) return Replaced{std::move(*written), true};
                if (written.error().kind != Kind::precondition_failed ||
                    conditions.if_none_match_any) {
                    return refuse(written.error());
                }
                continue;  // created meanwhile: replace it instead
            }
            const auto& existing = **current;
            const auto owner = existing.owner();
            if (!may_access_document(caller, name, info->rules, Action::read, owner)) {
                return refuse(denial(caller, false));
            }
            if (!may_access_document(caller, name, info->rules, Action::write, owner)) {
                return refuse(denial(caller, true));
            }
            if (conditions.if_none_match_any) return refuse(precondition_failed());
            if (conditions.has_if_match && !conditions.matches(existing.rev)) {
                return refuse(precondition_failed());
            }
            stored["_owner"] = existing.document->value("_owner", Json(nullptr));
            stored["_created_at"] = existing.document->value("_created_at", Json(now));
            stored["_updated_at"] = now;
            auto written = write(*info, id, std::move(stored), existing.rev);
            if (written) return Replaced{std::move(*written), false};
            if (written.error().kind != Kind::precondition_failed || conditions.has_if_match) {
                return refuse(written.error());
            }
        }
        return refuse(storage_failure(Error{Errc::unavailable, "replace kept losing races"}));
    });
}

DataResult<DocumentView> DocumentService::patch(const Principal& caller,
                                                std::string_view name,
                                                std::string_view id,
                                                const Json& patch,
                                                const WritePreconditions& conditions) {
    return config::timed("data_document_patch", [&]() -> DataResult<DocumentView> {
        auto info = collection(caller, name);
        if (!info) return refuse(info.error());
        if (!is_valid_id(id)) return refuse(Kind::bad_request, "Invalid document id.");
        if (auto field = reserved_field(patch)) {
            return refuse(Kind::bad_request,
                          "Fields starting with '_' are set by the server: " + *field);
        }
        const auto acceptable = [&](std::uint64_t rev) {
            return !conditions.has_if_match || conditions.matches(rev);
        };
        for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
            auto current = load_fresh(*info, id, acceptable);
            if (!current) return refuse(storage_failure(current.error()));
            if (!*current) {
                if (!collection_access(caller, name, info->rules, Action::read).allowed &&
                    !caller.is_authenticated()) {
                    return refuse(denial(caller, false));
                }
                return refuse(document_not_found());
            }
            const auto& existing = **current;
            const auto owner = existing.owner();
            if (!may_access_document(caller, name, info->rules, Action::read, owner)) {
                return refuse(denial(caller, false));
            }
            if (!may_access_document(caller, name, info->rules, Action::write, owner)) {
                return refuse(denial(caller, true));
            }
            if (conditions.if_none_match_any) return refuse(precondition_failed());
            if (conditions.has_if_match && !conditions.matches(existing.rev)) {
                return refuse(precondition_failed());
            }
            Json target = Json::object();
            for (const auto& [key, value] : existing.document->items()) {
                if (!is_server_field(key)) target[key] = value;
            }
            domain::apply_merge_patch(target, patch);
            if (!target.is_object()) {
                return refuse(Kind::unprocessable,
                              "The patched document must still be a JSON object.");
            }
            target["_owner"] = existing.document->value("_owner", Json(nullptr));
            target["_created_at"] = existing.document->value("_created_at", Json(nullptr));
            target["_updated_at"] = now_rfc3339();
            auto written = write(*info, id, std::move(target), existing.rev);
            if (written) return written;
            if (written.error().kind != Kind::precondition_failed || conditions.has_if_match) {
                return refuse(written.error());
            }
        }
        return refuse(storage_failure(Error{Errc::unavailable, "patch kept losing races"}));
    });
}

DataResult<void> DocumentService::remove(const Principal& caller,
                                         std::string_view name,
                                         std::string_view id,
                                         const WritePreconditions& conditions) {
    return config::timed("data_document_remove", [&]() -> DataResult<void> {
        auto info = collection(caller, name);
        if (!info) return refuse(info.error());
        if (!is_valid_id(id)) return refuse(Kind::bad_request, "Invalid document id.");
        const auto acceptable = [&](std::uint64_t rev) {
            return !conditions.has_if_match || conditions.matches(rev);
        };
        for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
            auto current = load_fresh(*info, id, acceptable);
            if (!current) return refuse(storage_failure(current.error()));
            if (!*current) {
                if (!collection_access(caller, name, info->rules, Action::read).allowed &&
                    !caller.is_authenticated()) {
                    return refuse(denial(caller, false));
                }
                return refuse(document_not_found());
            }
            const auto& existing = **current;
            const auto owner = existing.owner();
            if (!may_access_document(caller, name, info->rules, Action::read, owner)) {
                return refuse(denial(caller, false));
            }
            if (!may_access_document(caller, name, info->rules, Action::write, owner)) {
                return refuse(denial(caller, true));
            }
            if (conditions.has_if_match && !conditions.matches(existing.rev)) {
                return refuse(precondition_failed());
            }
            auto removed = store_.remove(info->name, info->store_id(id), existing.rev);
            if (removed) {
                note_write(*info, id, *removed, nullptr);
                return {};
            }
            if (removed.error().code == Errc::not_found) return refuse(document_not_found());
            if (removed.error().code != Errc::conflict)
                return refuse(storage_failure(removed.error()));
            if (conditions.has_if_match) return refuse(precondition_failed());
        }
        return refuse(storage_failure(Error{Errc::unavailable, "delete kept losing races"}));
    });
}

DataResult<DocumentService::Page> DocumentService::list(const Principal& caller,
                                                        std::string_view name,
                                                        std::string_view cursor,
                                                        std::size_t limit) {
    return config::timed("data_document_list", [&]() -> DataResult<Page> {
        auto info = collection(caller, name);
        if (!info) return refuse(info.error());
        const auto read = collection_access(caller, name, info->rules, Action::read);
        if (!read.allowed) return refuse(denial(caller, false));
        std::string after;
        if (!cursor.empty()) {
            auto decoded = decode_cursor(cursor);
            if (!decoded) return refuse(Kind::bad_request, "Invalid cursor.");
            after = std::move(*decoded);
        }
        Page page;
        bool has_more = false;
        auto scanned = scan(*info, after, [&](const DocumentView& view) {
            if (!read.covers_all && view.owner() != caller.user_id) return true;
            if (page.items.size() == limit) {
                has_more = true;
                return false;
            }
            page.items.push_back(view);
            return true;
        });
        if (!scanned) return refuse(storage_failure(scanned.error()));
        if (has_more && !page.items.empty()) page.next_cursor = encode_cursor(page.items.back().id);
        return page;
    });
}

DataResult<std::size_t> DocumentService::count_readable(const Principal& caller,
                                                        const CollectionInfo& info) {
    const auto read = collection_access(caller, info.name, info.rules, Action::read);
    if (!read.allowed) return std::size_t{0};
    std::size_t count = 0;
    if (read.covers_all) {
        const auto prefix = info.key_prefix();
        auto scanned = store_.scan(info.name, prefix,
                                   [&](std::string_view id, const infrastructure::StoredDocument&) {
                                       if (!id.starts_with(prefix)) return false;
                                       ++count;
                                       return true;
                                   });
        if (!scanned) return refuse(storage_failure(scanned.error()));
        return count;
    }
    auto scanned = scan(info, {}, [&](const DocumentView& view) {
        if (view.owner() == caller.user_id) ++count;
        return true;
    });
    if (!scanned) return refuse(storage_failure(scanned.error()));
    return count;
}

}  // namespace nexu::repositories
