#include "repositories/collection_repository.hpp"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "config/timing.hpp"

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;
using domain::access::AccessRule;
using domain::access::CollectionRules;

constexpr int kMaxSaveAttempts = 16;

std::string new_generation() {
    // 64 random bits: two incarnations of one name never share a generation.
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    auto value = engine();
    std::string out(16, '0');
    for (std::size_t i = 16; i-- > 0;) {
        out[i] = kHex[value & 0xF];
        value >>= 4;
    }
    return out;
}

}  // namespace

std::string CollectionInfo::store_id(std::string_view id) const {
    std::string out;
    out.reserve(generation.size() + 1 + id.size());
    out += generation;
    out += '.';
    out += id;
    return out;
}

CollectionRules CollectionRepository::default_rules() {
    return CollectionRules{AccessRule{AccessRule::Kind::owner, {}},
                           AccessRule{AccessRule::Kind::owner, {}}};
}

bool CollectionRepository::is_valid_index_field(std::string_view field) {
    if (field.empty() || field.size() > 64 || field[0] == '_') return false;
    const auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!is_alpha(field[0])) return false;
    return std::all_of(field.begin(), field.end(),
                       [&](char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '_'; });
}

std::string CollectionRepository::encode(const CollectionInfo& info) {
    Json body{
        {"rules", {{"read", info.rules.read.to_string()}, {"write", info.rules.write.to_string()}}},
        {"indexes", info.indexes},
        {"generation", info.generation}};
    return body.dump();
}

Result<CollectionInfo> CollectionRepository::decode(std::string_view name,
                                                    std::uint64_t rev,
                                                    const std::string& body) {
    {
        std::lock_guard lock{mutex_};
        const auto cached = cache_.find(std::string{name});
        if (cached != cache_.end() && cached->second.rev == rev) return cached->second;
    }
    const auto damaged = [&] {
        return fail(Errc::corrupt_object, "collection record " + std::string{name} + " is damaged");
    };
    Json parsed = Json::parse(body, nullptr, false);
    if (!parsed.is_object()) return damaged();
    CollectionInfo info;
    info.name = name;
    info.rev = rev;
    const auto rules = parsed.find("rules");
    const auto generation = parsed.find("generation");
    if (rules == parsed.end() || !rules->is_object() || generation == parsed.end() ||
        !generation->is_string()) {
        return damaged();
    }
    const auto read = rules->find("read");
    const auto write = rules->find("write");
    if (read == rules->end() || write == rules->end() || !read->is_string() || !write->is_string())
        return damaged();
    auto read_rule = AccessRule::parse(read->get<std::string>());
    auto write_rule = AccessRule::parse(write->get<std::string>());
    if (!read_rule || !write_rule) return damaged();
    info.rules = CollectionRules{*read_rule, *write_rule};
    info.generation = generation->get<std::string>();
    if (const auto indexes = parsed.find("indexes");
        indexes != parsed.end() && indexes->is_array()) {
        for (const auto& field : *indexes) {
            if (field.is_string()) info.indexes.push_back(field.get<std::string>());
        }
    }
    std::lock_guard lock{mutex_};
    cache_[info.name] = info;
    return info;
}

Result<CollectionInfo> CollectionRepository::find(std::string_view name) {
    if (!domain::access::is_valid_collection_name(name))
        return fail(Errc::not_found, "no collection " + std::string{name});
    auto stored = store_.get(kSystemCollection, name);
    if (!stored && stored.error().code == Errc::not_found) {
        // Maybe created on another instance a moment ago: catch up before
        // answering 404 (misses only, so hits stay one lookup).
        if (auto synced = store_.sync(kSystemCollection); !synced)
            return tl::make_unexpected(synced.error());
        stored = store_.get(kSystemCollection, name);
    }
    if (!stored) return tl::make_unexpected(stored.error());
    return decode(name, stored->rev, *stored->body);
}

Result<CollectionRepository::Saved> CollectionRepository::save(
    std::string_view name,
    const domain::access::CollectionRules& rules,
    std::vector<std::string> indexes) {
    return config::timed("collection_save", [&]() -> Result<Saved> {
        if (!domain::access::is_valid_collection_name(name))
            return fail(Errc::invalid_argument, "invalid collection name");
        std::sort(indexes.begin(), indexes.end());
        indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
        for (const auto& field : indexes) {
            if (!is_valid_index_field(field))
                return fail(Errc::invalid_argument, "invalid index field");
        }
        for (int attempt = 0; attempt < kMaxSaveAttempts; ++attempt) {
            CollectionInfo info;
            info.name = name;
            info.rules = rules;
            info.indexes = indexes;
            infrastructure::ExpectedRev expected = std::uint64_t{0};
            auto current = find(name);
            if (current) {
                info.generation = current->generation;
                expected = current->rev;
            } else if (current.error().code == Errc::not_found) {
                info.generation = new_generation();
            } else {
                return tl::make_unexpected(current.error());
            }
            auto written = store_.put(kSystemCollection, name, encode(info), expected);
            if (written) {
                info.rev = written->rev;
                return Saved{std::move(info), *expected == 0};
            }
            if (written.error().code != Errc::conflict) return tl::make_unexpected(written.error());
        }
        return fail(Errc::unavailable, "collection record kept changing under us");
    });
}

Result<CollectionInfo> CollectionRepository::remove(std::string_view name) {
    return config::timed("collection_remove", [&]() -> Result<CollectionInfo> {
        for (int attempt = 0; attempt < kMaxSaveAttempts; ++attempt) {
            auto current = find(name);
            if (!current) return current;
            auto removed = store_.remove(kSystemCollection, name, current->rev);
            if (removed) {
                {
                    std::lock_guard lock{mutex_};
                    cache_.erase(std::string{name});
                }
                purge_generation(*current);
                return current;
            }
            if (removed.error().code != Errc::conflict) return tl::make_unexpected(removed.error());
        }
        return fail(Errc::unavailable, "collection record kept changing under us");
    });
}

void CollectionRepository::purge_generation(const CollectionInfo& info) {
    // The record is gone, so nothing reaches these documents any more; removing
    // them only frees space. Failures are logged, never reported: the data is
    // already unreachable.
    std::vector<std::string> ids;
    const auto prefix = info.key_prefix();
    auto scanned = store_.scan(info.name, prefix,
                               [&](std::string_view id, const infrastructure::StoredDocument&) {
                                   if (!id.starts_with(prefix)) return false;
                                   ids.emplace_back(id);
                                   return true;
                               });
    if (!scanned) {
        spdlog::warn("collection {} deleted; its documents stay until a later purge: {}", info.name,
                     scanned.error().context);
        return;
    }
    std::size_t failures = 0;
    for (const auto& id : ids) {
        auto removed = store_.remove(info.name, id);
        if (!removed && removed.error().code != Errc::not_found) ++failures;
    }
    spdlog::info("collection {} deleted: {} documents removed, {} failures", info.name,
                 ids.size() - failures, failures);
}

Result<std::vector<CollectionInfo>> CollectionRepository::list() {
    std::vector<std::pair<std::string, infrastructure::StoredDocument>> records;
    auto scanned = store_.scan(kSystemCollection, "",
                               [&](std::string_view id, const infrastructure::StoredDocument& doc) {
                                   records.emplace_back(std::string{id}, doc);
                                   return true;
                               });
    if (!scanned) return tl::make_unexpected(scanned.error());
    std::vector<CollectionInfo> out;
    out.reserve(records.size());
    for (const auto& [name, doc] : records) {
        auto info = decode(name, doc.rev, *doc.body);
        if (!info) return tl::make_unexpected(info.error());
        out.push_back(std::move(*info));
    }
    return out;
}

}  // namespace nexu::repositories
