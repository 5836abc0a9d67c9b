#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "config/job.hpp"
#include "domain/error.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/env.hpp"

namespace nexu::infrastructure {

// Backups of a data directory (docs/storage.md, "Backups"): a consistent,
// encrypted, restorable copy in `<root>/<id>/` (id = UTC time + random, so
// names sort by age). The files are copied as they are (already sealed: a
// backup never holds plaintext), each fsynced, and `MANIFEST.nxm` (sealed
// with the manifests subkey; every file with size and SHA-256, and per
// collection the checkpoint and last commit file the backup covers) is
// created exclusively last: a backup without it is incomplete and is resumed
// by the next run (files already copied are kept when their size matches).
//
// Consistency: per collection CURRENT is read first, then the checkpoint it
// names and every commit file after it; commit files and checkpoints are
// immutable once named, so every write acknowledged before the backup began
// is in it. Blobs: every committed blob (a superset of those `_files`
// references; extra ones are swept as orphans after a restore).
//
// Blocks on disk: run it on a worker thread. Thread-compatible (one backup
// per root at a time; the scheduler's lease provides that across instances).
struct BackupOptions {
    std::filesystem::path root;
    std::size_t keep = 7;  // complete backups kept; older ones and stale incomplete ones go
    std::stop_token stop;  // stop requested: return early, resumable
    std::function<void(std::string_view)> progress;  // may be empty
    std::size_t progress_every_files = 500;
    std::chrono::milliseconds progress_interval{2000};
};

struct BackupResult {
    std::string id;
    std::filesystem::path dir;
    bool is_complete = false;  // false: stopped early; the next run resumes it
    bool was_resumed = false;
    std::size_t collections = 0;
    std::size_t files = 0;
    std::size_t reused_files = 0;  // already copied by an interrupted run
    std::uint64_t bytes = 0;
    std::size_t deleted_backups = 0;
};

inline constexpr std::string_view kBackupManifestName = "MANIFEST.nxm";

Result<BackupResult> run_backup(Env& env,
                                const std::filesystem::path& data_dir,
                                const Crypto& crypto,
                                const BackupOptions& options);

// True when `root` holds an incomplete backup newer than the newest complete
// one: the next run resumes it.
bool has_incomplete_backup(Env& env, const std::filesystem::path& root);

// Complete backups under `root`, newest first.
std::vector<std::string> list_complete_backups(Env& env, const std::filesystem::path& root);

struct RestoreResult {
    std::string id;
    std::size_t files = 0;
    std::uint64_t bytes = 0;
    std::string directory_id_hex;  // names the instances' NEXU_STATE_DIR/<id> folders
};

// Restores `backup` (one backup's directory, or a root: its newest complete
// backup) into `data_dir`, which must be missing or empty (Errc::conflict
// otherwise). Verifies the manifest (Errc::corrupt_object when it does not
// open with this key) and every file's size and SHA-256 while copying; on any
// failure removes what it copied. Every file and directory is fsynced.
Result<RestoreResult> restore_backup(Env& env,
                                     const std::filesystem::path& backup,
                                     const std::filesystem::path& data_dir,
                                     const Crypto& crypto,
                                     const std::function<void(std::string_view)>& progress = {});

// The scheduler's `backup` job: run_backup into `root` keeping `keep`
// complete backups (NEXU_BACKUP_DIR, NEXU_BACKUP_KEEP); has_unfinished_work:
// an incomplete backup to resume. `env` and `crypto` must outlive the job.
// An empty `root` gives a job that only reports that it is disabled.
config::JobDefinition make_backup_job(Env& env,
                                      std::filesystem::path data_dir,
                                      const Crypto& crypto,
                                      std::filesystem::path root,
                                      std::size_t keep);

}  // namespace nexu::infrastructure
