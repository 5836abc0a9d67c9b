#include "repositories/field_indexes.hpp"

#include <algorithm>
#include <iterator>
#include <limits>

#include <spdlog/spdlog.h>

#include "config/timing.hpp"

namespace nexu::repositories {

namespace {

using domain::jsonpath::CompareOp;
constexpr int kRankNumber = 3;
constexpr int kRankString = 4;
// As ParsedDocumentCache estimates a parsed document: a multiple of its text.
constexpr std::size_t kParsedCostFactor = 5;
constexpr std::size_t kMemberOverhead = 256;
// Writes applied beyond a gap in the seq, before the index counts as stale.
constexpr std::size_t kMaxAppliedAhead = 4096;

}  // namespace

bool FieldIndexes::Key::operator<(const Key& other) const {
    if (rank != other.rank) return rank < other.rank;
    if (number != other.number) return number < other.number;
    return text < other.text;
}

std::optional<FieldIndexes::Key> FieldIndexes::key_of(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::null:
            return Key{0, 0, {}};
        case nlohmann::json::value_t::boolean:
            return Key{value.get<bool>() ? 2 : 1, 0, {}};
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
        case nlohmann::json::value_t::number_float:
            return Key{kRankNumber, value.get<double>(), {}};
        case nlohmann::json::value_t::string:
            return Key{kRankString, 0, value.get<std::string>()};
        default:
            return std::nullopt;  // arrays and objects never equal a scalar literal
    }
}

std::size_t FieldIndexes::cost_of(const Member& member) {
    return member.body->size() * kParsedCostFactor + kMemberOverhead + member.id.size();
}

std::shared_ptr<FieldIndexes::CollectionIndex> FieldIndexes::index_for(const CollectionInfo& info,
                                                                       bool create) {
    std::lock_guard lock{mutex_};
    auto& slot = indexes_[info.name];
    if (slot && slot->generation == info.generation && slot->fields == info.indexes) return slot;
    const bool is_allowed = !info.indexes.empty() || snapshot_budget_bytes_ != 0;
    if (!create || !is_allowed) {
        if (slot && (slot->generation != info.generation || slot->fields != info.indexes)) {
            slot.reset();
        }
        return slot;
    }
    slot = std::make_shared<CollectionIndex>(snapshot_bytes_);
    slot->generation = info.generation;
    slot->fields = info.indexes;
    slot->postings.resize(info.indexes.size());
    return slot;
}

void FieldIndexes::drop(std::string_view name) {
    std::lock_guard lock{mutex_};
    indexes_.erase(std::string{name});
}

void FieldIndexes::clear(CollectionIndex& index) {
    index.is_built = false;
    index.entries.clear();
    for (auto& postings : index.postings) postings.clear();
    index.members.reset();
    index.applied_ahead.clear();
    snapshot_bytes_ -= index.cost;
    index.cost = 0;
}

void FieldIndexes::apply(CollectionIndex& index,
                         std::string_view id,
                         std::uint64_t rev,
                         std::shared_ptr<const nlohmann::json> document,
                         std::shared_ptr<const std::string> body) {
    auto slot = index.entries.find(id);
    if (slot == index.entries.end()) slot = index.entries.try_emplace(std::string{id}).first;
    else if (slot->second.rev >= rev) return;  // already holds this or a newer revision
    auto& entry = slot->second;
    index.members.reset();
    if (index.fields.empty() && entry.member) {
        const auto cost = cost_of(*entry.member);
        index.cost -= cost;
        snapshot_bytes_ -= cost;
    }
    entry.rev = rev;
    entry.member = document ? std::make_shared<const Member>(
                                  Member{std::string{id}, rev, document, std::move(body)})
                            : nullptr;
    if (index.fields.empty() && entry.member) {
        const auto cost = cost_of(*entry.member);
        index.cost += cost;
        snapshot_bytes_ += cost;
    }
    entry.positions.resize(index.fields.size());
    for (std::size_t f = 0; f < index.fields.size(); ++f) {
        if (entry.positions[f]) index.postings[f].erase(*entry.positions[f]);
        entry.positions[f].reset();
        if (!document) continue;
        const auto value = document->find(index.fields[f]);
        if (value == document->end()) continue;
        if (auto key = key_of(*value)) {
            entry.positions[f] = index.postings[f].emplace(std::move(*key), &entry);
        }
    }
}

void FieldIndexes::note_write(const CollectionInfo& info,
                              std::string_view id,
                              std::uint64_t rev,
                              std::uint64_t seq,
                              std::shared_ptr<const nlohmann::json> document,
                              std::shared_ptr<const std::string> body) {
    auto index = index_for(info, false);
    if (!index) return;
    std::lock_guard lock{index->mutex};
    if (!index->is_built) return;
    // Concurrent writes finish in any order; applying them out of order is
    // safe (each document keeps its newest revision), and the index covers
    // the store up to `seq` once every commit up to it has been applied.
    // Until then a gap may be another instance's commit: ensure_fresh
    // rebuilds if the store is past the contiguous seq.
    apply(*index, id, rev, std::move(document), std::move(body));
    if (seq == index->seq + 1) {
        index->seq = seq;
        auto& ahead = index->applied_ahead;
        while (!ahead.empty() && *ahead.begin() <= index->seq + 1) {
            index->seq = std::max(index->seq, *ahead.begin());
            ahead.erase(ahead.begin());
        }
    } else if (seq > index->seq) {
        index->applied_ahead.insert(seq);
        if (index->applied_ahead.size() > kMaxAppliedAhead) index->is_built = false;
    }
    if (index->fields.empty() && snapshot_bytes_ > snapshot_budget_bytes_) {
        clear(*index);  // grew past the budget: queries scan until it fits again
        index->over_budget_at.reset();
    }
}

Result<void> FieldIndexes::rebuild(CollectionIndex& index, const CollectionInfo& info) {
    return config::timed("field_index_rebuild", [&]() -> Result<void> {
        auto seq = store_.sequence(info.name);
        if (!seq) return tl::make_unexpected(seq.error());
        clear(index);
        index.over_budget_at.reset();
        const auto prefix = info.key_prefix();
        std::optional<Error> damage;
        bool is_over_budget = false;
        auto scanned = store_.scan(
            info.name, prefix,
            [&](std::string_view store_id, const infrastructure::StoredDocument& stored) {
                if (!store_id.starts_with(prefix)) return false;
                const auto id = store_id.substr(prefix.size());
                auto document = parsed_.get(id, stored.rev, stored.body);
                if (!document) {
                    damage = document.error();
                    return false;
                }
                apply(index, id, stored.rev, std::move(*document), stored.body);
                is_over_budget = index.fields.empty() && snapshot_bytes_ > snapshot_budget_bytes_;
                return !is_over_budget;
            });
        if (!scanned || damage || is_over_budget) clear(index);
        if (!scanned) return scanned;
        if (damage) return tl::make_unexpected(*damage);
        if (is_over_budget) {
            index.over_budget_at = *seq;
            index.validated_at = std::chrono::steady_clock::now();
            spdlog::info("collection snapshot over budget collection={} budget_bytes={}",
                         info.name, snapshot_budget_bytes_);
            return {};
        }
        index.seq = *seq;
        index.is_built = true;
        index.validated_at = std::chrono::steady_clock::now();
        spdlog::info("collection index rebuilt collection={} fields={} documents={} seq={}",
                     info.name, index.fields.size(), index.entries.size(), *seq);
        return {};
    });
}

Result<void> FieldIndexes::ensure_fresh(CollectionIndex& index, const CollectionInfo& info) {
    const auto now = std::chrono::steady_clock::now();
    if (!index.is_built && index.over_budget_at) {
        // Retried when the collection has changed (it may have shrunk), at
        // most once per sync interval.
        if (now - index.validated_at < sync_interval_) return {};
        auto seq = store_.sequence(info.name);
        if (!seq) return tl::make_unexpected(seq.error());
        index.validated_at = now;
        if (*seq == *index.over_budget_at) return {};
    }
    if (!index.is_built) return rebuild(index, info);
    if (now - index.validated_at < sync_interval_) return {};
    auto seq = store_.sequence(info.name);
    if (!seq) return tl::make_unexpected(seq.error());
    if (*seq != index.seq) return rebuild(index, info);
    index.validated_at = now;
    return {};
}

std::vector<const FieldIndexes::Entry*> FieldIndexes::lookup(
    const CollectionIndex& index, std::size_t field, const IndexableComparison& comparison) {
    std::vector<const Entry*> ids;
    const auto literal = key_of(comparison.literal);
    if (!literal) return ids;
    const auto& postings = index.postings[field];
    const auto collect = [&](Postings::const_iterator from, Postings::const_iterator to) {
        for (auto it = from; it != to; ++it) ids.push_back(it->second);
    };
    constexpr double kLowest = -std::numeric_limits<double>::infinity();
    const bool is_ordered = literal->rank == kRankNumber || literal->rank == kRankString;
    const Key type_start{literal->rank, kLowest, {}};
    const Key type_end{literal->rank + 1, kLowest, {}};
    switch (comparison.op) {
        case CompareOp::eq: {
            const auto [from, to] = postings.equal_range(*literal);
            collect(from, to);
            break;
        }
        // Ranges include the literal itself: a superset is fine, and it
        // absorbs any rounding between integers and doubles.
        case CompareOp::lt:
        case CompareOp::le:
            if (is_ordered)
                collect(postings.lower_bound(type_start), postings.upper_bound(*literal));
            break;
        case CompareOp::gt:
        case CompareOp::ge:
            if (is_ordered) collect(postings.lower_bound(*literal), postings.lower_bound(type_end));
            break;
        case CompareOp::ne:
            break;
    }
    return ids;
}

Result<std::optional<FieldIndexes::Members>> FieldIndexes::candidates(
    const CollectionInfo& info, const std::vector<IndexableComparison>& comparisons) {
    using Out = std::optional<Members>;
    if (info.indexes.empty() || comparisons.empty()) return Out{};
    bool is_usable = false;
    for (const auto& comparison : comparisons) {
        if (comparison.op != CompareOp::ne && std::find(info.indexes.begin(), info.indexes.end(),
                                                        comparison.field) != info.indexes.end()) {
            is_usable = true;
        }
    }
    if (!is_usable) return Out{};
    auto index = index_for(info, true);
    if (!index) return Out{};
    std::lock_guard lock{index->mutex};
    if (auto fresh = ensure_fresh(*index, info); !fresh) return tl::make_unexpected(fresh.error());
    // The comparisons are conjuncts: a document must pass each, so the
    // candidates are the intersection of every indexed one's.
    const auto by_id = [](const Entry* left, const Entry* right) {
        return left->member->id < right->member->id;  // postings hold live documents only
    };
    std::optional<std::vector<const Entry*>> best;
    for (const auto& comparison : comparisons) {
        if (comparison.op == CompareOp::ne) continue;
        const auto field = std::find(index->fields.begin(), index->fields.end(), comparison.field);
        if (field == index->fields.end()) continue;
        auto entries =
            lookup(*index, static_cast<std::size_t>(field - index->fields.begin()), comparison);
        std::sort(entries.begin(), entries.end(), by_id);
        if (!best) {
            best = std::move(entries);
            continue;
        }
        std::vector<const Entry*> both;
        std::set_intersection(best->begin(), best->end(), entries.begin(), entries.end(),
                              std::back_inserter(both), by_id);
        best = std::move(both);
    }
    if (!best) return Out{};
    Members out;
    out.reserve(best->size());
    for (const Entry* entry : *best) out.push_back(entry->member);
    return Out{std::move(out)};
}

Result<std::shared_ptr<const FieldIndexes::Members>> FieldIndexes::snapshot(
    const CollectionInfo& info) {
    auto index = index_for(info, true);
    if (!index) return std::shared_ptr<const Members>{};
    std::lock_guard lock{index->mutex};
    if (auto fresh = ensure_fresh(*index, info); !fresh) return tl::make_unexpected(fresh.error());
    if (!index->is_built) return std::shared_ptr<const Members>{};
    if (!index->members) {
        auto members = std::make_shared<Members>();
        members->reserve(index->entries.size());
        for (const auto& [id, entry] : index->entries) {
            if (entry.member) members->push_back(entry.member);
        }
        index->members = std::move(members);
    }
    return index->members;
}

Result<void> FieldIndexes::reindex(const CollectionInfo& info) {
    auto index = index_for(info, !info.indexes.empty());
    if (!index) return {};
    std::lock_guard lock{index->mutex};
    return rebuild(*index, info);
}

Result<std::size_t> FieldIndexes::reindex_all(CollectionRepository& collections) {
    auto all = collections.list();
    if (!all) return tl::make_unexpected(all.error());
    std::size_t rebuilt = 0;
    for (const auto& info : *all) {
        if (info.indexes.empty()) continue;
        if (auto done = reindex(info); !done) return tl::make_unexpected(done.error());
        ++rebuilt;
    }
    return rebuilt;
}

}  // namespace nexu::repositories
