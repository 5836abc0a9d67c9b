#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>

#include "config/job.hpp"
#include "domain/error.hpp"
#include "infrastructure/blob_store.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/env.hpp"
#include "infrastructure/store.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::repositories {

struct KeyRotationReport {
    std::uint32_t current = 1;
    std::size_t collections_rekeyed = 0;  // checkpoints written under the current version
    std::size_t blobs_reencrypted = 0;
    bool key_check_resealed = false;
    std::size_t files_removed = 0;  // superseded files collected past their grace period
    std::map<std::uint32_t, std::size_t> files_by_version;  // every stored file's key id
    std::vector<std::uint32_t> retired_now;
    std::size_t failures = 0;  // collections or blobs that could not be re-encrypted
    bool was_stopped = false;
    bool is_finished = false;  // no older version left unretired
    std::string summary() const;
};

// The key-rotation job (docs/storage.md, "Key rotation"): after `nexuctl
// rotate-key` made a new key version current, re-encrypts every object still
// sealed under an older one, and retires a version once no file in the data
// directory names it any more:
//   documents and chat logs: a checkpoint under the new version covers every
//     live document and appended record (Store::rekey); the old commit files
//     and checkpoints go with the store's garbage collection after its grace
//     period, so the retirement comes on a later run;
//   blobs: copied into a new blob under the new version, the file metadata
//     switched by compare-and-set (the file's _rev grows by one; content and
//     SHA-256 unchanged), the old blob retired (its own grace period);
//   the key check object: re-sealed in place.
// Every step is idempotent, so a run stopped part-way (stop token, kill -9)
// is simply continued by the next one.
//
// Thread-compatible: one run at a time (the scheduler's lease). Blocks on disk.
class KeyRotation {
public:
    KeyRotation(infrastructure::Env& env,
                std::filesystem::path data_dir,
                infrastructure::Store& store,
                DocumentRepository& documents,
                const infrastructure::BlobStore* blobs,  // nullptr: no files feature
                const infrastructure::Crypto& crypto)
        : env_(env),
          data_dir_(std::move(data_dir)),
          store_(store),
          documents_(documents),
          blobs_(blobs),
          crypto_(crypto) {}

    // An older key version is not retired yet (read from keys/).
    bool is_in_progress() const;

    Result<KeyRotationReport> run(std::stop_token stop,
                                  const std::function<void(std::string_view)>& progress = {});

    // Key id of every stored file (commit files, checkpoints, segments,
    // blobs, the key check object), for the retirement decision and tests.
    Result<std::map<std::uint32_t, std::size_t>> count_files_by_version() const;

private:
    Result<bool> reencrypt_blob(const std::string& id, const DocumentRepository::Json& file);

    infrastructure::Env& env_;
    std::filesystem::path data_dir_;
    infrastructure::Store& store_;
    DocumentRepository& documents_;
    const infrastructure::BlobStore* blobs_;
    const infrastructure::Crypto& crypto_;
};

// The scheduler's `key-rotation` job over `rotation` (which must outlive it);
// has_unfinished_work: a rotation in progress.
config::JobDefinition make_key_rotation_job(KeyRotation& rotation);

}  // namespace nexu::repositories
