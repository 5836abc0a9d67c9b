#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.hpp"
#include "infrastructure/crypto.hpp"

// The on-disk format of the store (docs/storage.md has the diagram). One
// module builds and parses every file name and every file body, so readers and
// writers cannot drift apart. Pure functions; thread-safe.
namespace nexu::infrastructure::storage_format {

inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::string_view kCurrentName = "CURRENT";
inline constexpr std::string_view kKeyCheckName = "keycheck.nxk";
inline constexpr std::string_view kLogDir = "log";
inline constexpr std::string_view kCheckpointDir = "ckpt";

// ---- names ---------------------------------------------------------------
// log/<first seq, 20 digits>.nxl, ckpt/<seq>.nxi, ckpt/<seq>-<part, 6 digits>.nxs
std::string commit_file_name(std::uint64_t first_seq);
std::string checkpoint_index_name(std::uint64_t seq);
std::string segment_name(std::uint64_t checkpoint_seq, std::uint32_t part);

enum class FileKind { commit, checkpoint_index, segment };
struct ParsedName {
    FileKind kind;
    std::uint64_t seq;
    std::uint32_t part = 0;
};
// Anything else (temp files, .nfs*, stray names) is std::nullopt: ignored.
std::optional<ParsedName> parse_file_name(std::string_view name);

// Collection names: [a-z_][a-z0-9_-]{0,63} (API names plus system `_users`).
bool is_valid_collection_name(std::string_view name);
// Document ids: 1..512 bytes, no NUL, no '/'.
bool is_valid_document_id(std::string_view id);

// ---- records ---------------------------------------------------------------
enum class RecordOp : std::uint8_t { put = 1, remove = 2, append = 3 };

struct Record {
    RecordOp op = RecordOp::put;
    std::string id;  // empty for append: the id is the zero-padded seq
    std::uint64_t rev = 0;
    std::string body;
};

// The id an appended record gets: its seq, 20 digits, so id order is seq order.
std::string appended_id(std::uint64_t seq);

// ---- commit files ----------------------------------------------------------
// "NXL1" | key id u32 | first seq u64 | sealed(count u32, records...)
// The associated data binds the whole group to (format, collection, first seq,
// key id): a renamed, moved, truncated or extended file fails to open.
Result<std::string> encode_commit_file(const Crypto& crypto,
                                       std::string_view collection,
                                       std::uint64_t first_seq,
                                       const std::vector<const Record*>& records);
Result<std::vector<Record>> decode_commit_file(const Crypto& crypto,
                                               std::string_view collection,
                                               std::uint64_t first_seq,
                                               std::string_view bytes);

// ---- checkpoints -----------------------------------------------------------
// A segment: "NXS1" | key id u32 | { length u32 | sealed document }...
// Each document is sealed alone with (format, collection, id, rev, seq, key id),
// so one damaged document leaves its neighbours readable.
inline constexpr std::size_t kSegmentHeaderBytes = 8;
std::string segment_header(std::uint32_t key_id);
Result<std::uint32_t> segment_key_id(std::string_view header);
// The key id every file stores after its 4-byte magic (0 if too short).
std::uint32_t stored_key_id(std::string_view bytes);
// Appends a length-prefixed sealed document to `segment`.
Result<void> append_sealed_document(const Crypto& crypto,
                                    std::uint32_t key_id,
                                    std::string& segment,
                                    std::string_view collection,
                                    std::string_view id,
                                    std::uint64_t rev,
                                    std::uint64_t seq,
                                    std::string_view body);
// `framed` is the length prefix plus the sealed bytes as stored.
Result<std::string> open_sealed_document(const Crypto& crypto,
                                         std::uint32_t key_id,
                                         std::string_view framed,
                                         std::string_view collection,
                                         std::string_view id,
                                         std::uint64_t rev,
                                         std::uint64_t seq);

struct IndexEntry {
    std::string id;
    std::uint64_t rev = 0;
    std::uint64_t seq = 0;
    bool is_deleted = false;  // tombstones keep _rev growing across delete and re-create
    std::uint32_t part = 0;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
};
struct CheckpointIndex {
    std::uint64_t seq = 0;
    std::vector<std::uint64_t> segment_bytes;  // exact size of each segment file
    std::vector<IndexEntry> entries;           // in id order
};
// "NXI1" | key id u32 | seq u64 | sealed(index)
Result<std::string> encode_checkpoint_index(const Crypto& crypto,
                                            std::string_view collection,
                                            const CheckpointIndex& index);
Result<CheckpointIndex> decode_checkpoint_index(const Crypto& crypto,
                                                std::string_view collection,
                                                std::uint64_t seq,
                                                std::string_view bytes);

// CURRENT holds the newest checkpoint's seq as decimal text.
std::string encode_current(std::uint64_t seq);
std::optional<std::uint64_t> decode_current(std::string_view text);

// ---- key check -------------------------------------------------------------
// keycheck.nxk: "NXK1" | key id u32 | sealed(16-byte data-dir id). Proves that
// the loaded key opens this data directory, and names the directory for the
// local high-water marks.
Result<std::string> encode_key_check(const Crypto& crypto, std::string_view directory_id);
Result<std::string> decode_key_check(const Crypto& crypto, std::string_view bytes);

}  // namespace nexu::infrastructure::storage_format
