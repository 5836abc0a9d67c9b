#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "infrastructure/blob_store.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::repositories {

// What the server knows of a stored file; the content is the blob it names.
struct FileMetadata {
    std::string path;
    std::uint64_t size_bytes = 0;
    std::string content_type;
    std::string sha256_hex;  // of the plaintext
    std::uint64_t rev = 0;
    std::string owner;  // user id of the first uploader
    std::string created_at;
    std::string updated_at;
    std::string blob;  // the blob's name; never shown to clients

    // The client's view:
    // {"path","size","content_type","sha256","_rev","owner","created_at","updated_at"}.
    nlohmann::json to_json() const;
};

// Who uploads or deletes: the repository decides ownership, the route the rest.
struct FileActor {
    std::string user_id;
    bool is_admin = false;
};

struct UploadOutcome {
    enum class Kind {
        created,              // first upload of the path: the actor owns it, _rev 1
        replaced,             // the owner or an admin replaced it: _rev + 1
        forbidden,            // someone else's file (the new blob is removed)
        precondition_failed,  // If-Match / If-None-Match did not hold (blob removed)
    };
    Kind kind = Kind::created;
    FileMetadata file;  // the new metadata, or the current one when refused
};

// File metadata in the system collection `_files` (document id: SHA-256 of
// the path, so any path fits the store's id rules) with the store's
// compare-and-set revisions, and the content in the BlobStore. The metadata
// write is the commit of an upload: the blob is written and made durable
// first, the metadata switches to it with a CAS on the revision it decided
// against, and only then is the old blob retired. Two concurrent uploads of a
// path therefore get distinct revisions (one 201 with _rev 1, one 200 with
// _rev 2), never both the same one, and a lost race re-decides against the
// winner's state (its owner may differ).
//
// Thread-safe; every call blocks on disk (worker threads). Errors are the
// store's and the blob store's (not_found, corrupt_object, unavailable,
// io_error); Errc::conflict only when CAS races keep being lost.
class FileRepository {
public:
    static constexpr std::string_view kCollection = "_files";

    FileRepository(DocumentRepository& documents, const infrastructure::BlobStore& blobs)
        : documents_(documents), blobs_(blobs) {}

    // Errc::not_found when no file has this path.
    Result<FileMetadata> find(std::string_view path) const;

    // A writer for a new blob; stream the body into it, then commit_upload.
    Result<infrastructure::BlobWriter> start_upload() const;

    // Makes `blob` the content of `path` for `actor`. `expected`: nullopt
    // unconditional, 0 only when absent (If-None-Match: *), n only at rev n
    // (If-Match). On any outcome but created/replaced, or on error, the blob
    // is removed.
    Result<UploadOutcome> commit_upload(std::string_view path,
                                        const infrastructure::StoredBlob& blob,
                                        std::string_view content_type,
                                        const FileActor& actor,
                                        infrastructure::ExpectedRev expected = std::nullopt);

    // Removes the file's metadata (CAS on `current.rev`), then retires its
    // blob. Errc::conflict when the file changed since `current` was read.
    Result<void> remove(const FileMetadata& current);

    // Files whose path starts with `prefix`, in path order; `owner` set:
    // only that user's files (empty: every file, for admins).
    Result<std::vector<FileMetadata>> list(std::string_view prefix,
                                           std::optional<std::string_view> owner) const;

    // A reader of `length` bytes from `offset` of the file's current content.
    Result<infrastructure::BlobReader> open_content(const FileMetadata& file,
                                                    std::uint64_t offset,
                                                    std::uint64_t length) const;

    // Removes retired blobs past their grace and abandoned temp files (any
    // instance may run it); returns how many files went.
    Result<std::size_t> collect_garbage() const;
    // Removes blobs no metadata points to, older than the orphan grace (left
    // by a crash between a blob's commit and its metadata switch). Scans every
    // file's metadata and lists every blob: run it rarely.
    Result<std::size_t> collect_orphans() const;

    // The document id of a path.
    static std::string id_of(std::string_view path);

private:
    DocumentRepository& documents_;
    const infrastructure::BlobStore& blobs_;
};

}  // namespace nexu::repositories
