#include "infrastructure/backup.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <unistd.h>

#include "infrastructure/blob_store.hpp"
#include "infrastructure/key_versions.hpp"
#include "infrastructure/storage_format.hpp"

namespace nexu::infrastructure {

namespace sf = storage_format;
namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kManifestMagic = "NXM1";
constexpr std::string_view kDataDirName = "data";
constexpr std::size_t kCopyChunk = 1024 * 1024;
constexpr int kSnapshotAttempts = 5;

void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xffU);
}

std::string manifest_associated(std::string_view id, std::uint32_t key_id) {
    std::string ad = "nexu-backup-manifest|1|";
    ad += id;
    ad += '|';
    ad += std::to_string(key_id);
    return ad;
}

// <UTC yyyymmddThhmmss><milliseconds>Z-<8 hex>: sorts by age.
std::string new_backup_id() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
    std::string id = stamp;
    const auto ms = std::to_string(millis);
    id.append(3 - ms.size(), '0');
    id += ms;
    id += "Z-";
    unsigned char random[4];
    randombytes_buf(random, sizeof random);
    id += to_hex(random, sizeof random);
    return id;
}

bool is_backup_id(std::string_view name) {
    if (name.size() != 28 || name[8] != 'T' || name[18] != 'Z' || name[19] != '-') return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (i == 8 || i == 18 || i == 19) continue;
        const char c = name[i];
        const bool ok = (c >= '0' && c <= '9') || (i > 19 && c >= 'a' && c <= 'f');
        if (!ok) return false;
    }
    return true;
}

struct BackupDirs {
    std::vector<std::string> complete;    // oldest first
    std::vector<std::string> incomplete;  // oldest first
};

BackupDirs scan_backups(Env& env, const fs::path& root) {
    BackupDirs dirs;
    auto names = env.list_dir(root);
    if (!names) return dirs;
    std::sort(names->begin(), names->end());
    for (const auto& name : *names) {
        if (!is_backup_id(name)) continue;
        if (env.stat(root / name / kBackupManifestName))
            dirs.complete.push_back(name);
        else
            dirs.incomplete.push_back(name);
    }
    return dirs;
}

// A relative path the manifest may name: no absolute paths, no "..", no empties.
bool is_safe_relative(const std::string& path) {
    if (path.empty() || path.front() == '/') return false;
    for (const auto& part : fs::path{path}) {
        const auto text = part.string();
        if (text.empty() || text == "." || text == "..") return false;
    }
    return true;
}

struct Digest {
    std::uint64_t size = 0;
    std::string sha256;
};

// Streams `from` into a new file at `to` (temp name in its directory, fsync,
// close, rename over `to`), hashing what it copies.
Result<Digest> copy_file(Env& env, const fs::path& from, const fs::path& to) {
    const auto dir = to.parent_path();
    std::string temp{kTempPrefix};
    temp += "copy-";
    temp += std::to_string(::getpid());
    temp += '-';
    temp += to.filename().string();
    const auto temp_path = dir / temp;
    (void)env.remove(temp_path);
    auto file = env.create_file(temp_path);
    if (!file) return tl::make_unexpected(file.error());
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    Digest digest;
    auto outcome = [&]() -> Result<void> {
        for (;;) {
            auto chunk = env.read_range(from, digest.size, kCopyChunk);
            if (!chunk) return tl::make_unexpected(chunk.error());
            if (chunk->empty()) break;
            crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(chunk->data()),
                                      chunk->size());
            if (auto written = (*file)->append(*chunk); !written) return written;
            digest.size += chunk->size();
            if (chunk->size() < kCopyChunk) break;
        }
        if (auto synced = (*file)->sync(); !synced) return synced;
        return (*file)->close();
    }();
    if (!outcome) {
        (void)env.remove(temp_path);
        return tl::make_unexpected(outcome.error());
    }
    if (auto renamed = env.rename(temp_path, to); !renamed) {
        (void)env.remove(temp_path);
        return tl::make_unexpected(renamed.error());
    }
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, hash);
    digest.sha256 = to_hex(hash, sizeof hash);
    return digest;
}

Result<Digest> hash_file(Env& env, const fs::path& path) {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    Digest digest;
    for (;;) {
        auto chunk = env.read_range(path, digest.size, kCopyChunk);
        if (!chunk) return tl::make_unexpected(chunk.error());
        if (chunk->empty()) break;
        crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(chunk->data()),
                                  chunk->size());
        digest.size += chunk->size();
        if (chunk->size() < kCopyChunk) break;
    }
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, hash);
    digest.sha256 = to_hex(hash, sizeof hash);
    return digest;
}

// Creates every directory of `relative`'s parent under `base`, syncing each
// new one's parent. `made` remembers what exists already.
Result<void> make_parents(Env& env,
                          const fs::path& base,
                          const fs::path& relative,
                          std::set<fs::path>& made) {
    fs::path dir = base;
    for (const auto& part : relative.parent_path()) {
        const auto parent = dir;
        dir /= part;
        if (made.contains(dir)) continue;
        if (auto created = env.make_dir(dir); !created) return created;
        if (auto synced = env.sync_dir(parent); !synced) return synced;
        made.insert(dir);
    }
    return {};
}

struct PlannedFile {
    std::string path;         // relative to the data directory
    bool is_mutable = false;  // CURRENT, keycheck.nxk: always copied again
};

struct CollectionState {
    std::uint64_t checkpoint = 0;
    std::uint64_t last_commit_file = 0;  // first seq of the newest commit file copied
};

class Progress {
public:
    explicit Progress(const BackupOptions& options) : options_(options) {}
    void file_done(const std::string& what, std::size_t files, std::uint64_t bytes) {
        if (!options_.progress) return;
        const auto now = Clock::now();
        if (files - last_files_ < options_.progress_every_files &&
            now - last_at_ < options_.progress_interval) {
            return;
        }
        last_files_ = files;
        last_at_ = now;
        std::string line = what;
        line += ": ";
        line += std::to_string(files);
        line += " files, ";
        line += std::to_string(bytes / (1024 * 1024));
        line += " MiB";
        options_.progress(line);
    }

private:
    const BackupOptions& options_;
    std::size_t last_files_ = 0;
    Clock::time_point last_at_ = Clock::now();
};

// The files of one collection at one moment: CURRENT first, then the
// checkpoint it names, then the commit files after it.
Result<std::vector<PlannedFile>> plan_collection(Env& env,
                                                 const fs::path& data_dir,
                                                 const Crypto& crypto,
                                                 const std::string& name,
                                                 CollectionState& state) {
    std::vector<PlannedFile> files;
    const fs::path dir = data_dir / name;
    auto current_text = env.read_file(dir / sf::kCurrentName);
    std::uint64_t checkpoint = 0;
    if (current_text) {
        const auto seq = sf::decode_current(*current_text);
        if (!seq)
            return fail(Errc::corrupt_object, "collection " + name + ": CURRENT is malformed");
        checkpoint = *seq;
        files.push_back({name + "/" + std::string{sf::kCurrentName}, true});
        const auto index_name = sf::checkpoint_index_name(checkpoint);
        auto bytes = env.read_file(dir / sf::kCheckpointDir / index_name);
        if (!bytes) return tl::make_unexpected(bytes.error());
        auto index = sf::decode_checkpoint_index(crypto, name, checkpoint, *bytes);
        if (!index) {
            Error error = index.error();
            error.context = "collection " + name + " " + index_name + ": " + error.context;
            return tl::make_unexpected(error);
        }
        files.push_back({name + "/ckpt/" + index_name, false});
        for (std::uint32_t part = 0; part < index->segment_bytes.size(); ++part) {
            files.push_back({name + "/ckpt/" + sf::segment_name(checkpoint, part), false});
        }
    } else if (current_text.error().code != Errc::not_found) {
        return tl::make_unexpected(current_text.error());
    }
    auto names = env.list_dir(dir / sf::kLogDir);
    if (!names) return tl::make_unexpected(names.error());
    std::vector<std::uint64_t> commits;
    for (const auto& file : *names) {
        const auto parsed = sf::parse_file_name(file);
        if (parsed && parsed->kind == sf::FileKind::commit && parsed->seq > checkpoint)
            commits.push_back(parsed->seq);
    }
    std::sort(commits.begin(), commits.end());
    for (const auto seq : commits)
        files.push_back({name + "/log/" + sf::commit_file_name(seq), false});
    state.checkpoint = checkpoint;
    state.last_commit_file = commits.empty() ? 0 : commits.back();
    return files;
}

Result<std::vector<PlannedFile>> plan_blobs(Env& env, const fs::path& data_dir) {
    std::vector<PlannedFile> files;
    const auto blobs = data_dir / BlobStore::kDirName;
    auto shards = env.list_dir(blobs);
    if (!shards) {
        if (shards.error().code == Errc::not_found) return files;
        return tl::make_unexpected(shards.error());
    }
    std::sort(shards->begin(), shards->end());
    for (const auto& shard : *shards) {
        if (shard.size() != 2) continue;
        auto names = env.list_dir(blobs / shard);
        if (!names) continue;
        std::sort(names->begin(), names->end());
        for (const auto& file : *names) {
            if (!file.ends_with(".nxb") || is_temp_name(file)) continue;
            if (!BlobStore::is_valid_blob_name(std::string_view{file}.substr(0, file.size() - 4)))
                continue;
            std::string path{BlobStore::kDirName};
            path += '/';
            path += shard;
            path += '/';
            path += file;
            files.push_back({std::move(path), false});
        }
    }
    return files;
}

}  // namespace

std::vector<std::string> list_complete_backups(Env& env, const fs::path& root) {
    auto dirs = scan_backups(env, root);
    std::reverse(dirs.complete.begin(), dirs.complete.end());
    return dirs.complete;
}

bool has_incomplete_backup(Env& env, const fs::path& root) {
    const auto dirs = scan_backups(env, root);
    if (dirs.incomplete.empty()) return false;
    return dirs.complete.empty() || dirs.incomplete.back() > dirs.complete.back();
}

Result<BackupResult> run_backup(Env& env,
                                const fs::path& data_dir,
                                const Crypto& crypto,
                                const BackupOptions& options) {
    if (options.root.empty()) return fail(Errc::invalid_argument, "no backup directory");
    if (auto checked = env.stat(data_dir / sf::kKeyCheckName); !checked) {
        if (checked.error().code == Errc::not_found)
            return fail(Errc::not_found, "no Nexu data directory at " + data_dir.string());
        return tl::make_unexpected(checked.error());
    }
    {
        std::error_code ignored;
        fs::create_directories(options.root, ignored);
    }
    BackupResult result;
    const auto existing = scan_backups(env, options.root);
    if (!existing.incomplete.empty() &&
        (existing.complete.empty() || existing.incomplete.back() > existing.complete.back())) {
        result.id = existing.incomplete.back();
        result.was_resumed = true;
    } else {
        result.id = new_backup_id();
    }
    result.dir = options.root / result.id;
    const auto target = result.dir / kDataDirName;
    if (auto made = env.make_dir(result.dir); !made) return tl::make_unexpected(made.error());
    if (auto made = env.make_dir(target); !made) return tl::make_unexpected(made.error());
    if (auto synced = env.sync_dir(options.root); !synced)
        return tl::make_unexpected(synced.error());
    if (options.progress) {
        options.progress((result.was_resumed ? "resuming backup " : "starting backup ") +
                         result.id);
    }

    Json manifest_files = Json::array();
    Json manifest_collections = Json::object();
    std::set<fs::path> made_dirs{result.dir, target};
    std::set<std::string> copied;  // relative paths already in this manifest
    Progress progress{options};

    // Copies (or keeps from an interrupted run) one file; not_found means the
    // file went away under us (garbage collection): the caller plans again.
    auto take = [&](const PlannedFile& file) -> Result<void> {
        if (copied.contains(file.path)) return {};
        const auto from = data_dir / file.path;
        const auto to = target / file.path;
        if (auto parents = make_parents(env, target, fs::path{file.path}, made_dirs); !parents)
            return parents;
        Digest digest;
        bool reused = false;
        if (!file.is_mutable) {
            auto have = env.stat(to);
            auto source = env.stat(from);
            if (!source) return tl::make_unexpected(source.error());
            if (have && have->size_bytes == source->size_bytes) {
                auto hashed = hash_file(env, to);
                if (!hashed) return tl::make_unexpected(hashed.error());
                digest = std::move(*hashed);
                reused = true;
            }
        }
        if (!reused) {
            auto done = copy_file(env, from, to);
            if (!done) return tl::make_unexpected(done.error());
            digest = std::move(*done);
        }
        copied.insert(file.path);
        manifest_files.push_back(
            Json{{"path", file.path}, {"size", digest.size}, {"sha256", digest.sha256}});
        ++result.files;
        if (reused) ++result.reused_files;
        result.bytes += digest.size;
        progress.file_done("backup " + result.id, result.files, result.bytes);
        return {};
    };
    auto stopped = [&] { return options.stop.stop_requested(); };

    // The key check object and the key version markers first.
    if (auto done = take({std::string{sf::kKeyCheckName}, true}); !done)
        return tl::make_unexpected(done.error());
    if (auto markers = env.list_dir(data_dir / kKeysDirName)) {
        std::sort(markers->begin(), markers->end());
        for (const auto& marker : *markers) {
            if (is_temp_name(marker)) continue;
            std::string path{kKeysDirName};
            path += '/';
            path += marker;
            if (auto done = take({path, false}); !done) return tl::make_unexpected(done.error());
        }
    }
    auto names = env.list_dir(data_dir);
    if (!names) return tl::make_unexpected(names.error());
    std::sort(names->begin(), names->end());
    for (const auto& name : *names) {
        if (!sf::is_valid_collection_name(name) || !env.stat(data_dir / name / sf::kLogDir))
            continue;
        if (stopped()) break;
        // Plan and copy; a file deleted under us (a newer checkpoint, past
        // its grace period) means planning again from the new CURRENT.
        Result<void> outcome;
        for (int attempt = 0; attempt < kSnapshotAttempts; ++attempt) {
            CollectionState state;
            auto plan = plan_collection(env, data_dir, crypto, name, state);
            if (!plan) {
                outcome = tl::make_unexpected(plan.error());
                if (plan.error().code == Errc::not_found) continue;
                break;
            }
            outcome = {};
            for (const auto& file : *plan) {
                if (stopped()) break;
                outcome = take(file);
                if (!outcome) break;
            }
            if (outcome || outcome.error().code != Errc::not_found) {
                manifest_collections[name] = Json{{"checkpoint", state.checkpoint},
                                                  {"last_commit_file", state.last_commit_file}};
                break;
            }
            // Forget this collection's entries: the next plan lists its files again.
            std::erase_if(copied,
                          [&](const std::string& path) { return path.starts_with(name + "/"); });
            Json kept = Json::array();
            for (auto& entry : manifest_files) {
                if (!entry["path"].get<std::string>().starts_with(name + "/"))
                    kept.push_back(std::move(entry));
            }
            manifest_files = std::move(kept);
        }
        if (!outcome) {
            Error error = outcome.error();
            error.context = "collection " + name + ": " + error.context;
            return tl::make_unexpected(error);
        }
        ++result.collections;
    }
    if (!stopped()) {
        auto blobs = plan_blobs(env, data_dir);
        if (!blobs) return tl::make_unexpected(blobs.error());
        for (const auto& file : *blobs) {
            if (stopped()) break;
            auto done = take(file);
            // A blob retired and collected meanwhile is not referenced any more.
            if (!done && done.error().code != Errc::not_found)
                return tl::make_unexpected(done.error());
        }
    }
    if (stopped()) {
        if (options.progress)
            options.progress("backup " + result.id + " stopped; the next run resumes it");
        return result;
    }
    for (const auto& dir : made_dirs) {
        if (auto synced = env.sync_dir(dir); !synced) return tl::make_unexpected(synced.error());
    }

    // The manifest last, by exclusive create: its presence marks the backup complete.
    const auto key_id = crypto.current_key_id();
    const Json manifest{{"format", 1},
                        {"id", result.id},
                        {"created_unix_s", static_cast<std::int64_t>(std::time(nullptr))},
                        {"key_version", key_id},
                        {"collections", manifest_collections},
                        {"files", manifest_files}};
    std::string sealed{kManifestMagic};
    put_u32(sealed, key_id);
    if (auto done = crypto.seal_into(sealed, KeyPurpose::manifests, key_id, manifest.dump(),
                                     manifest_associated(result.id, key_id));
        !done) {
        return tl::make_unexpected(done.error());
    }
    auto created =
        create_durable(env, result.dir, std::string{kBackupManifestName}, sealed, "backup");
    if (!created && created.error().code != Errc::conflict)
        return tl::make_unexpected(created.error());
    if (auto synced = env.sync_dir(result.dir); !synced) return tl::make_unexpected(synced.error());
    result.is_complete = true;

    // Retention: the newest `keep` complete backups; incomplete ones older
    // than the newest complete one will never be resumed.
    const auto after = scan_backups(env, options.root);
    std::vector<std::string> doomed;
    const auto keep = std::max<std::size_t>(options.keep, 1);
    if (after.complete.size() > keep) {
        doomed.assign(after.complete.begin(),
                      after.complete.end() - static_cast<std::ptrdiff_t>(keep));
    }
    for (const auto& id : after.incomplete) {
        if (!after.complete.empty() && id < after.complete.back()) doomed.push_back(id);
    }
    for (const auto& id : doomed) {
        std::error_code error;
        fs::remove_all(options.root / id, error);
        if (!error) ++result.deleted_backups;
    }
    if (options.progress) {
        options.progress("backup " + result.id + " complete: " + std::to_string(result.files) +
                         " files, " + std::to_string(result.bytes) + " bytes");
    }
    return result;
}

Result<RestoreResult> restore_backup(Env& env,
                                     const fs::path& backup,
                                     const fs::path& data_dir,
                                     const Crypto& crypto,
                                     const std::function<void(std::string_view)>& progress) {
    fs::path source = backup;
    if (!env.stat(source / kBackupManifestName)) {
        const auto complete = list_complete_backups(env, backup);
        if (complete.empty())
            return fail(Errc::not_found, "no complete backup (with " +
                                             std::string{kBackupManifestName} + ") at " +
                                             backup.string());
        source = backup / complete.front();
    }
    // Into an empty directory only: restoring over live data would mix two histories.
    {
        std::error_code error;
        if (fs::exists(data_dir, error)) {
            if (!fs::is_directory(data_dir, error) || !fs::is_empty(data_dir, error))
                return fail(Errc::conflict, "data directory " + data_dir.string() +
                                                " is not empty; restore "
                                                "only into an empty or missing directory");
        } else {
            fs::create_directories(data_dir, error);
            if (error)
                return fail(Errc::io_error,
                            "cannot create " + data_dir.string() + ": " + error.message());
        }
    }
    const auto id = source.filename().string();
    auto sealed = env.read_file(source / kBackupManifestName);
    if (!sealed) return tl::make_unexpected(sealed.error());
    if (sealed->size() < 8 || std::string_view{*sealed}.substr(0, 4) != kManifestMagic)
        return fail(Errc::corrupt_object, "backup manifest has a bad header");
    std::uint32_t key_id = 0;
    for (std::size_t i = 0; i < 4; ++i)
        key_id |= static_cast<std::uint32_t>(static_cast<unsigned char>((*sealed)[4 + i]))
                  << (8 * i);
    auto plain = crypto.open(KeyPurpose::manifests, key_id, std::string_view{*sealed}.substr(8),
                             manifest_associated(id, key_id));
    if (!plain)
        return fail(Errc::corrupt_object,
                    "backup manifest does not open with this key (wrong key, or tampered)");
    Json manifest;
    try {
        manifest = Json::parse(*plain);
    } catch (const std::exception&) {
        return fail(Errc::corrupt_object, "backup manifest is malformed");
    }
    RestoreResult result;
    result.id = id;
    std::set<fs::path> made_dirs{data_dir};
    // The directory was empty: undoing a failed restore empties it again.
    auto undo = [&]() {
        std::error_code ignored;
        for (const auto& entry : fs::directory_iterator(data_dir, ignored)) {
            fs::remove_all(entry.path(), ignored);
        }
    };
    auto outcome = [&]() -> Result<void> {
        if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_array())
            return fail(Errc::corrupt_object, "backup manifest has no file list");
        const auto total = manifest["files"].size();
        auto last_report = Clock::now();
        for (const auto& entry : manifest["files"]) {
            if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string() ||
                !entry.contains("size") || !entry["size"].is_number_unsigned() ||
                !entry.contains("sha256") || !entry["sha256"].is_string())
                return fail(Errc::corrupt_object, "backup manifest has a bad file entry");
            const auto path = entry["path"].get<std::string>();
            if (!is_safe_relative(path))
                return fail(Errc::corrupt_object, "backup manifest names an unsafe path");
            if (auto parents = make_parents(env, data_dir, fs::path{path}, made_dirs); !parents)
                return parents;
            auto copied = copy_file(env, source / kDataDirName / path, data_dir / path);
            if (!copied) {
                Error error = copied.error();
                if (error.code == Errc::not_found) error.code = Errc::corrupt_object;
                error.context = "backup file " + path + ": " + error.context;
                return tl::make_unexpected(error);
            }
            if (copied->size != entry["size"].get<std::uint64_t>() ||
                copied->sha256 != entry["sha256"].get<std::string>()) {
                return fail(
                    Errc::corrupt_object,
                    "backup file " + path + " does not match the manifest (size or SHA-256)");
            }
            ++result.files;
            result.bytes += copied->size;
            if (progress &&
                (result.files % 500 == 0 || Clock::now() - last_report > std::chrono::seconds{2})) {
                last_report = Clock::now();
                progress("restore " + id + ": " + std::to_string(result.files) + " of " +
                         std::to_string(total) + " files, " +
                         std::to_string(result.bytes / (1024 * 1024)) + " MiB");
            }
        }
        // Every collection keeps its log/ and ckpt/ folders, even when the
        // backup holds no commit file (a quiet collection: all in its checkpoint).
        if (manifest.contains("collections") && manifest["collections"].is_object()) {
            for (const auto& [name, state] : manifest["collections"].items()) {
                if (!sf::is_valid_collection_name(name))
                    return fail(Errc::corrupt_object, "backup manifest names a bad collection");
                for (const auto sub : {sf::kLogDir, sf::kCheckpointDir}) {
                    const auto relative = fs::path{name} / sub / "x";
                    if (auto parents = make_parents(env, data_dir, relative, made_dirs); !parents)
                        return parents;
                }
            }
        }
        for (const auto& dir : made_dirs) {
            if (auto synced = env.sync_dir(dir); !synced) return synced;
        }
        auto key_check = env.read_file(data_dir / sf::kKeyCheckName);
        if (!key_check) return fail(Errc::corrupt_object, "the backup has no key check object");
        auto directory_id = sf::decode_key_check(crypto, *key_check);
        if (!directory_id)
            return fail(Errc::corrupt_object,
                        "the key does not open the backup's key check object");
        result.directory_id_hex = to_hex(
            reinterpret_cast<const unsigned char*>(directory_id->data()), directory_id->size());
        return {};
    }();
    if (!outcome) {
        undo();
        return tl::make_unexpected(outcome.error());
    }
    return result;
}

config::JobDefinition make_backup_job(
    Env& env, fs::path data_dir, const Crypto& crypto, fs::path root, std::size_t keep) {
    config::JobDefinition job;
    job.name = "backup";
    job.run = [&env, &crypto, data_dir, root, keep](const config::JobContext& context) {
        if (root.empty()) return config::JobOutcome{true, "disabled: NEXU_BACKUP_DIR is empty"};
        try {
            BackupOptions options;
            options.root = root;
            options.keep = keep;
            options.stop = context.stop;
            options.progress = context.progress;
            auto result = run_backup(env, data_dir, crypto, options);
            if (!result)
                return config::JobOutcome{false, "backup failed: " + result.error().context};
            std::string summary = "backup " + result->id;
            summary += result->is_complete ? " complete: " : " stopped (resumable): ";
            summary += std::to_string(result->collections) + " collections, " +
                       std::to_string(result->files) + " files (" +
                       std::to_string(result->reused_files) + " kept from an interrupted run), " +
                       std::to_string(result->bytes) + " bytes; " +
                       std::to_string(result->deleted_backups) + " old backups deleted";
            return config::JobOutcome{result->is_complete, summary};
        } catch (const std::exception& e) {
            return config::JobOutcome{false, std::string{"backup failed: "} + e.what()};
        }
    };
    job.has_unfinished_work = [&env, root] {
        return !root.empty() && has_incomplete_backup(env, root);
    };
    return job;
}

}  // namespace nexu::infrastructure
