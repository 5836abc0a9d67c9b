#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.hpp"

namespace nexu::infrastructure {

// The store's only door to the file system (LevelDB's Env, SQLite's VFS), so
// tests can inject EIO, ENOSPC, ESTALE, short writes and power cuts without
// root. Implementations are safe to call from any thread.
//
// Errors: Errc::not_found for a missing name, Errc::conflict when an exclusive
// create or link finds the name taken, Errc::unavailable for ENOSPC, EDQUOT and
// ESTALE (retrying later can help), Errc::io_error otherwise. The context names
// the operation, the path and the errno symbol in brackets ("[ESTALE]").

// A new file being written. Append-only; a failed sync or close means the data
// may not be on disk, and nobody retries on the same descriptor: the caller
// discards the file and writes a new one.
class WritableFile {
public:
    virtual ~WritableFile() = default;
    virtual Result<void> append(std::string_view bytes) = 0;
    virtual Result<void> sync() = 0;
    // Must be called once; its result says whether NFS took the data.
    virtual Result<void> close() = 0;
};

struct FileInfo {
    std::uint64_t size_bytes = 0;
    std::int64_t modified_unix_s = 0;
    std::uint64_t link_count = 0;
};

class Env {
public:
    virtual ~Env() = default;

    virtual Result<std::string> read_file(const std::filesystem::path& path) = 0;
    // Up to `length` bytes from `offset`; fewer only at the end of the file.
    virtual Result<std::string> read_range(const std::filesystem::path& path,
                                           std::uint64_t offset,
                                           std::size_t length) = 0;
    // open(O_CREAT|O_EXCL): Errc::conflict if the name exists.
    virtual Result<std::unique_ptr<WritableFile>> create_file(
        const std::filesystem::path& path) = 0;
    // link(2): Errc::conflict if `to` exists. This is the commit point.
    virtual Result<void> link(const std::filesystem::path& from,
                              const std::filesystem::path& to) = 0;
    // rename(2): replaces `to`.
    virtual Result<void> rename(const std::filesystem::path& from,
                                const std::filesystem::path& to) = 0;
    virtual Result<void> remove(const std::filesystem::path& path) = 0;
    virtual Result<void> sync_dir(const std::filesystem::path& dir) = 0;
    // mkdir(2); succeeds when the directory already exists.
    virtual Result<void> make_dir(const std::filesystem::path& dir) = 0;
    // Names in `dir` except . and ..; only ever a list of candidates (rule 4).
    virtual Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) = 0;
    virtual Result<FileInfo> stat(const std::filesystem::path& path) = 0;
};

// True for errors worth retrying after re-resolving the path (ESTALE, a name
// that vanished under us on NFS).
bool is_stale_handle(const Error& error);

// The commit protocol of DESIGN-NOTES §3 rule 3, on any Env: writes `bytes` to
// a fresh temp name in `dir`, fsyncs and closes it, then links it to `name`
// (Errc::conflict if taken: another writer committed first) and removes the
// temp name. Does not sync `dir`: the caller does, before acknowledging. On any
// error the final name was not created by us (an ambiguous link error is
// resolved by the temp file's link count).
Result<void> create_durable(Env& env,
                            const std::filesystem::path& dir,
                            const std::string& name,
                            std::string_view bytes,
                            const std::string& temp_tag);

// Replaces `dir/name` atomically: temp write, fsync, close, rename, sync `dir`.
// `sync` false skips both fsyncs (for advisory local state only).
Result<void> replace_file(Env& env,
                          const std::filesystem::path& dir,
                          const std::string& name,
                          std::string_view bytes,
                          const std::string& temp_tag,
                          bool sync = true);

// Temp names start with this and are ignored by every reader.
inline constexpr std::string_view kTempPrefix = ".tmp-";
bool is_temp_name(std::string_view name);

}  // namespace nexu::infrastructure
