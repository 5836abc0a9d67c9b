#include "repositories/system_report.hpp"

namespace nexu::repositories {

namespace {

constexpr std::string_view kLastIntegrityId = "last";

}  // namespace

std::uint64_t SystemReport::bytes_under(const std::filesystem::path& dir, int depth) {
    auto names = env_.list_dir(dir);
    if (!names) return 0;
    std::uint64_t total = 0;
    for (const auto& name : *names) {
        const auto path = dir / name;
        if (depth > 0) {
            // A directory lists; a file does not (list_dir fails with ENOTDIR).
            if (auto children = env_.list_dir(path); children) {
                total += bytes_under(path, depth - 1);
                continue;
            }
        }
        if (auto info = env_.stat(path)) total += info->size_bytes;
    }
    return total;
}

Result<std::vector<SystemReport::CollectionStatistics>> SystemReport::statistics() {
    auto names = store_.collections();
    if (!names) return tl::make_unexpected(names.error());
    std::vector<CollectionStatistics> out;
    out.reserve(names->size());
    for (const auto& name : *names) {
        CollectionStatistics statistics;
        statistics.name = name;
        auto count = store_.count(name);
        auto seq = count ? store_.sequence(name) : Result<std::uint64_t>{0};
        if (!count || !seq) {
            statistics.error = to_string(!count ? count.error().code : seq.error().code);
        } else {
            statistics.documents = *count;
            statistics.seq = *seq;
        }
        statistics.bytes = bytes_under(data_dir_ / name, 1);
        out.push_back(std::move(statistics));
    }
    return out;
}

Result<void> SystemReport::save_integrity(nlohmann::json result) {
    auto saved = documents_.replace(kIntegrityCollection, kLastIntegrityId, std::move(result));
    if (!saved) return tl::make_unexpected(saved.error());
    return {};
}

Result<nlohmann::json> SystemReport::last_integrity() const {
    auto found = documents_.find_fresh(kIntegrityCollection, kLastIntegrityId);
    if (!found) {
        if (found.error().code == Errc::not_found) return nlohmann::json(nullptr);
        return tl::make_unexpected(found.error());
    }
    found->erase("_id");
    found->erase("_rev");
    return std::move(*found);
}

}  // namespace nexu::repositories
