#include "repositories/key_rotation.hpp"

#include "infrastructure/key_versions.hpp"
#include "infrastructure/storage_format.hpp"
#include "repositories/file_repository.hpp"

namespace nexu::repositories {

namespace sf = infrastructure::storage_format;
namespace fs = std::filesystem;
using Json = DocumentRepository::Json;

namespace {

// Every stored file names its key id in bytes 4..8, after its magic.
std::optional<std::uint32_t> key_id_of(infrastructure::Env& env, const fs::path& path) {
    auto head = env.read_range(path, 0, 8);
    if (!head || head->size() < 8) return std::nullopt;
    return sf::stored_key_id(*head);
}

}  // namespace

std::string KeyRotationReport::summary() const {
    std::string out = "key version " + std::to_string(current) + ": ";
    out += std::to_string(collections_rekeyed) + " collections and ";
    out += std::to_string(blobs_reencrypted) + " blobs re-encrypted";
    if (key_check_resealed) out += ", key check resealed";
    out += ", " + std::to_string(files_removed) + " superseded files removed; files by version:";
    for (const auto& [version, count] : files_by_version)
        out += " v" + std::to_string(version) + "=" + std::to_string(count);
    for (const auto version : retired_now) out += "; retired v" + std::to_string(version);
    if (failures > 0) out += "; " + std::to_string(failures) + " failures";
    if (was_stopped)
        out += "; stopped early (the next run continues)";
    else if (!is_finished)
        out += "; waiting for superseded files to pass their grace period";
    return out;
}

bool KeyRotation::is_in_progress() const {
    auto versions = infrastructure::read_key_versions(env_, data_dir_, crypto_);
    return versions && versions->has_unretired_older();
}

Result<std::map<std::uint32_t, std::size_t>> KeyRotation::count_files_by_version() const {
    std::map<std::uint32_t, std::size_t> counts;
    if (auto id = key_id_of(env_, data_dir_ / sf::kKeyCheckName)) ++counts[*id];
    auto names = env_.list_dir(data_dir_);
    if (!names) return tl::make_unexpected(names.error());
    for (const auto& name : *names) {
        if (!sf::is_valid_collection_name(name)) continue;
        for (const auto sub : {sf::kLogDir, sf::kCheckpointDir}) {
            auto files = env_.list_dir(data_dir_ / name / sub);
            if (!files) continue;
            for (const auto& file : *files) {
                if (!sf::parse_file_name(file)) continue;
                if (auto id = key_id_of(env_, data_dir_ / name / sub / file)) ++counts[*id];
            }
        }
    }
    const auto blobs = data_dir_ / infrastructure::BlobStore::kDirName;
    if (auto shards = env_.list_dir(blobs)) {
        for (const auto& shard : *shards) {
            if (shard.size() != 2) continue;
            auto files = env_.list_dir(blobs / shard);
            if (!files) continue;
            for (const auto& file : *files) {
                if (!file.ends_with(".nxb") || infrastructure::is_temp_name(file)) continue;
                if (auto id = key_id_of(env_, blobs / shard / file)) ++counts[*id];
            }
        }
    }
    return counts;
}

Result<bool> KeyRotation::reencrypt_blob(const std::string& id, const Json& file) {
    const auto name = file.value("blob", std::string{});
    const auto size = file.value("size", std::uint64_t{0});
    const auto rev = file.value("_rev", std::uint64_t{0});
    if (!infrastructure::BlobStore::is_valid_blob_name(name)) return false;
    const auto key = key_id_of(env_, blobs_->path_of(name));
    if (!key || *key == crypto_.current_key_id()) return false;
    auto reader = blobs_->open_range(name, size, 0, size);
    if (!reader) return tl::make_unexpected(reader.error());
    auto writer = blobs_->create();
    if (!writer) return tl::make_unexpected(writer.error());
    for (;;) {
        auto piece = reader->next();
        if (!piece) return tl::make_unexpected(piece.error());
        if (piece->empty()) break;
        if (auto written = writer->write(*piece); !written)
            return tl::make_unexpected(written.error());
    }
    auto stored = writer->commit();
    if (!stored) return tl::make_unexpected(stored.error());
    if (stored->sha256_hex != file.value("sha256", std::string{}) || stored->size_bytes != size) {
        (void)blobs_->remove_now(stored->name);
        return fail(Errc::corrupt_object, "re-encrypted blob does not match its metadata");
    }
    Json next = file;
    next["blob"] = stored->name;
    auto replaced = documents_.replace(FileRepository::kCollection, id, std::move(next), rev);
    if (!replaced) {
        // Replaced or deleted meanwhile: the new content is already under the new key.
        (void)blobs_->remove_now(stored->name);
        if (replaced.error().code == Errc::conflict) return false;
        return tl::make_unexpected(replaced.error());
    }
    (void)blobs_->retire(name);
    return true;
}

Result<KeyRotationReport> KeyRotation::run(std::stop_token stop,
                                           const std::function<void(std::string_view)>& progress) {
    auto say = [&](const std::string& line) {
        if (progress) progress(line);
    };
    KeyRotationReport report;
    auto versions = infrastructure::apply_key_versions(env_, data_dir_, crypto_);
    if (!versions) return tl::make_unexpected(versions.error());
    report.current = crypto_.current_key_id();
    if (!versions->has_unretired_older()) {
        auto counts = count_files_by_version();
        if (counts) report.files_by_version = std::move(*counts);
        report.is_finished = true;
        return report;
    }
    // 1. The key check object.
    auto resealed = store_.rekey_key_check();
    if (!resealed) return tl::make_unexpected(resealed.error());
    report.key_check_resealed = *resealed;
    // 2. Documents and chat logs: a checkpoint per collection under the new version.
    auto collections = store_.collections();
    if (!collections) return tl::make_unexpected(collections.error());
    std::size_t done = 0;
    for (const auto& name : *collections) {
        if (stop.stop_requested()) {
            report.was_stopped = true;
            return report;
        }
        auto rekeyed = store_.rekey(name);
        if (!rekeyed) {
            ++report.failures;
            say("collection " + name + ": " + rekeyed.error().context);
        } else if (*rekeyed) {
            ++report.collections_rekeyed;
        }
        ++done;
        say("collections: " + std::to_string(done) + " of " + std::to_string(collections->size()));
    }
    // 3. Blobs.
    if (blobs_ != nullptr) {
        std::vector<std::pair<std::string, Json>> files;
        auto scanned = documents_.scan(FileRepository::kCollection, {},
                                       [&](const std::string& id, const Json& doc) {
                                           files.emplace_back(id, doc);
                                           return true;
                                       });
        if (!scanned) return tl::make_unexpected(scanned.error());
        std::size_t seen = 0;
        for (const auto& [id, file] : files) {
            if (stop.stop_requested()) {
                report.was_stopped = true;
                return report;
            }
            auto reencrypted = reencrypt_blob(id, file);
            if (!reencrypted) {
                ++report.failures;
                say("file blob: " + reencrypted.error().context);
            } else if (*reencrypted) {
                ++report.blobs_reencrypted;
            }
            if (++seen % 100 == 0)
                say("blobs: " + std::to_string(seen) + " of " + std::to_string(files.size()));
        }
    }
    // 4. Superseded files past their grace period.
    if (auto removed = store_.collect_garbage()) report.files_removed += *removed;
    if (blobs_ != nullptr) {
        if (auto removed = blobs_->collect_garbage()) report.files_removed += *removed;
    }
    // 5. Retire every older version no file names any more.
    auto counts = count_files_by_version();
    if (!counts) return tl::make_unexpected(counts.error());
    report.files_by_version = *counts;
    if (report.failures == 0) {
        for (std::uint32_t version = 1; version < report.current; ++version) {
            if (versions->is_retired(version) || counts->contains(version)) continue;
            auto retired =
                infrastructure::record_retired_key_version(env_, data_dir_, crypto_, version);
            if (!retired) return tl::make_unexpected(retired.error());
            report.retired_now.push_back(version);
        }
    }
    auto after = infrastructure::read_key_versions(env_, data_dir_, crypto_);
    report.is_finished = after && !after->has_unretired_older();
    say(report.summary());
    return report;
}

config::JobDefinition make_key_rotation_job(KeyRotation& rotation) {
    config::JobDefinition job;
    job.name = "key-rotation";
    job.run = [&rotation](const config::JobContext& context) {
        try {
            auto report = rotation.run(context.stop, context.progress);
            if (!report) return config::JobOutcome{false, report.error().context};
            return config::JobOutcome{report->failures == 0, report->summary()};
        } catch (const std::exception& e) {
            return config::JobOutcome{false, std::string{"key rotation failed: "} + e.what()};
        }
    };
    job.has_unfinished_work = [&rotation] { return rotation.is_in_progress(); };
    return job;
}

}  // namespace nexu::repositories
