#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sodium.h>

#include "domain/error.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/env.hpp"

namespace nexu::infrastructure {

struct BlobSettings {
    // Plaintext bytes per sealed chunk: a Range maps to whole chunks, and a
    // reader or writer holds about one chunk in memory.
    std::size_t chunk_bytes = 64 * 1024;
    // Chunks per secretstream segment: a Range starting inside a segment
    // decrypts at most this many chunks before its first byte.
    std::size_t chunks_per_segment = 16;
    // A replaced or deleted blob stays readable this long, so a download that
    // began before the switch can finish.
    std::chrono::milliseconds retire_grace{10 * 60 * 1000};
    // Temp files of uploads that never finished (a crashed instance) are
    // removed when older than this.
    std::chrono::milliseconds temp_grace{60 * 60 * 1000};
    // A committed blob no metadata points to (a crash between the blob's
    // commit and the metadata switch) is removed when older than this.
    std::chrono::milliseconds orphan_grace{60 * 60 * 1000};
};

// A committed blob: its unique name and what the writer measured.
struct StoredBlob {
    std::string name;  // 32 hex characters; never derived from user input
    std::uint64_t size_bytes = 0;
    std::string sha256_hex;  // of the plaintext
};

// Streams one upload into a new, uniquely named blob. Not thread-safe: one
// caller at a time (an upload's pieces arrive in order). Every call blocks on
// disk: call from worker threads. If it is destroyed before commit() succeeds,
// the temp file is removed (blocking too), and nothing else is left behind.
class BlobWriter {
public:
    BlobWriter(BlobWriter&&) noexcept;
    BlobWriter& operator=(BlobWriter&&) = delete;
    BlobWriter(const BlobWriter&) = delete;
    BlobWriter& operator=(const BlobWriter&) = delete;
    ~BlobWriter();

    // Appends plaintext; seals and writes every full chunk it completes.
    Result<void> write(std::string_view bytes);
    // Seals the final chunk, fsyncs and closes the file, gives it its final
    // name and fsyncs the directory: on success the blob is durable. On error
    // nothing was committed (the temp file is removed).
    Result<StoredBlob> commit();

    std::uint64_t size_bytes() const { return size_bytes_; }

private:
    friend class BlobStore;
    BlobWriter() = default;
    Result<void> push_chunk(bool is_last);
    void discard() noexcept;

    Env* env_ = nullptr;
    const Crypto* crypto_ = nullptr;
    std::filesystem::path blobs_dir_;
    std::filesystem::path shard_dir_;
    std::filesystem::path temp_path_;
    std::string name_;
    std::uint32_t key_id_ = 0;
    std::size_t chunk_bytes_ = 0;
    std::size_t chunks_per_segment_ = 0;
    std::unique_ptr<WritableFile> file_;
    std::optional<StreamSealer> sealer_;
    std::uint64_t segment_ = 0;
    std::size_t chunks_in_segment_ = 0;
    std::string pending_;  // plaintext of the chunk being filled
    std::uint64_t size_bytes_ = 0;
    crypto_hash_sha256_state sha256_{};
    bool is_done_ = false;
};

// Reads a range of a blob's plaintext in order, one chunk at a time. Not
// thread-safe; each call blocks on disk (worker threads). Every chunk is
// authenticated before its bytes are returned; the end of the blob must carry
// the final tag (truncation is Errc::corrupt_object).
class BlobReader {
public:
    // The next piece of the range (at most one chunk); empty once the range is done.
    Result<std::string> next();
    std::uint64_t remaining_bytes() const { return end_ - position_; }

private:
    friend class BlobStore;
    BlobReader() = default;
    Result<void> start_segment(std::uint64_t segment);
    std::uint64_t chunk_offset(std::uint64_t chunk) const;

    Env* env_ = nullptr;
    const Crypto* crypto_ = nullptr;
    std::filesystem::path path_;
    std::string name_;
    std::uint32_t key_id_ = 0;
    std::size_t chunk_bytes_ = 0;
    std::size_t chunks_per_segment_ = 0;
    std::uint64_t size_bytes_ = 0;
    std::uint64_t chunk_count_ = 0;
    std::optional<StreamOpener> opener_;
    std::uint64_t opener_segment_ = 0;
    std::uint64_t next_chunk_ = 0;  // the chunk the opener pulls next
    std::uint64_t position_ = 0;    // plaintext offset of the next byte to return
    std::uint64_t end_ = 0;         // one past the range's last byte
};

// Encrypted blobs for uploaded files under `<data dir>/_blobs` (shared by
// every instance, NFS-safe): each upload writes a new blob with a random
// name (temp file, fsync, rename, directory fsync), never overwriting one in
// place; the file metadata switching to the new name is the commit, and the
// old blob is retired: removed by collect_garbage() once its grace period has
// passed. Layout and format: docs/architecture.md, "Files (streamed bodies)".
//
// Thread-safe (stateless apart from settings). Every call blocks on disk.
// Errors: not_found, corrupt_object (authentication, truncation, wrong size),
// unavailable (ENOSPC, EDQUOT, ESTALE), io_error.
class BlobStore {
public:
    static constexpr std::string_view kDirName = "_blobs";

    // Creates `<data_dir>/_blobs` on first use. `env` and `crypto` must outlive it.
    static Result<std::unique_ptr<BlobStore>> open(Env& env,
                                                   const std::filesystem::path& data_dir,
                                                   const Crypto& crypto,
                                                   BlobSettings settings = {});

    Result<BlobWriter> create() const;
    // A reader of `length` bytes from `offset` of the blob `name`, whose
    // plaintext is `size_bytes` long (from its metadata: a blob of another
    // size is corrupt_object). The range must lie within the blob.
    Result<BlobReader> open_range(std::string_view name,
                                  std::uint64_t size_bytes,
                                  std::uint64_t offset,
                                  std::uint64_t length) const;
    // Schedules the removal of a blob no metadata points to any more.
    Result<void> retire(std::string_view name) const;
    // Removes a blob that was never referenced (a lost race) at once.
    Result<void> remove_now(std::string_view name) const;
    // Removes retired blobs past their grace period and abandoned temp files;
    // returns how many files went. Safe to run on several instances at once.
    Result<std::size_t> collect_garbage() const;

    // Removes committed blobs older than the orphan grace that are not in
    // `referenced` (a snapshot of the names in use, taken before this call:
    // a blob committed after it is younger than the grace). Returns how many.
    Result<std::size_t> remove_unreferenced(
        const std::function<bool(std::string_view name)>& is_referenced) const;

    const BlobSettings& settings() const { return settings_; }
    // Where a blob lives (for tests and tools).
    std::filesystem::path path_of(std::string_view name) const;

    static bool is_valid_blob_name(std::string_view name);

private:
    BlobStore(Env& env, std::filesystem::path blobs_dir, const Crypto& crypto, BlobSettings s);

    Env& env_;
    std::filesystem::path blobs_dir_;
    const Crypto& crypto_;
    BlobSettings settings_;
};

}  // namespace nexu::infrastructure
