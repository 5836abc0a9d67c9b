#include "repositories/file_repository.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include <sodium.h>

#include "config/timing.hpp"

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;

// A lost CAS race re-decides against the winner; after this many in a row the
// path is too contended and the client gets a 409 to retry.
constexpr int kMaxCasAttempts = 8;

std::string now_rfc3339() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[32];
    const auto written = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    std::string out{text, written};
    const auto millis = static_cast<int>(ms.count() % 1000);
    out += '.';
    out += static_cast<char>('0' + millis / 100);
    out += static_cast<char>('0' + millis / 10 % 10);
    out += static_cast<char>('0' + millis % 10);
    out += 'Z';
    return out;
}

Json to_document(const FileMetadata& file) {
    return Json{{"path", file.path},
                {"size", file.size_bytes},
                {"content_type", file.content_type},
                {"sha256", file.sha256_hex},
                {"owner", file.owner},
                {"created_at", file.created_at},
                {"updated_at", file.updated_at},
                {"blob", file.blob}};
}

Result<FileMetadata> from_document(const Json& document) {
    try {
        FileMetadata file;
        file.path = document.at("path").get<std::string>();
        file.size_bytes = document.at("size").get<std::uint64_t>();
        file.content_type = document.at("content_type").get<std::string>();
        file.sha256_hex = document.at("sha256").get<std::string>();
        file.owner = document.at("owner").get<std::string>();
        file.created_at = document.value("created_at", std::string{});
        file.updated_at = document.at("updated_at").get<std::string>();
        file.blob = document.at("blob").get<std::string>();
        file.rev = document.at("_rev").get<std::uint64_t>();
        return file;
    } catch (const Json::exception& e) {
        return fail(Errc::corrupt_object, std::string{"file metadata: "} + e.what());
    }
}

}  // namespace

Json FileMetadata::to_json() const {
    return Json{{"path", path},
                {"size", size_bytes},
                {"content_type", content_type},
                {"sha256", sha256_hex},
                {"_rev", rev},
                {"owner", owner},
                {"created_at", created_at},
                {"updated_at", updated_at}};
}

std::string FileRepository::id_of(std::string_view path) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(path.data()), path.size());
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * sizeof digest);
    for (const auto byte : digest) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
    }
    return out;
}

Result<FileMetadata> FileRepository::find(std::string_view path) const {
    auto document = documents_.find(kCollection, id_of(path));
    if (!document) return tl::make_unexpected(document.error());
    auto file = from_document(*document);
    // Two paths with one SHA-256 would need a collision; still, never serve
    // another path's content.
    if (file && file->path != path) return fail(Errc::not_found, "file id collision");
    return file;
}

Result<infrastructure::BlobWriter> FileRepository::start_upload() const {
    return blobs_.create();
}

Result<UploadOutcome> FileRepository::commit_upload(std::string_view path,
                                                    const infrastructure::StoredBlob& blob,
                                                    std::string_view content_type,
                                                    const FileActor& actor,
                                                    infrastructure::ExpectedRev expected) {
    auto outcome = config::timed("file_commit_upload", [&]() -> Result<UploadOutcome> {
        const auto id = id_of(path);
        for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
            auto current = find(path);
            if (!current && current.error().code != Errc::not_found) {
                return tl::make_unexpected(current.error());
            }
            const bool exists = current.has_value();
            if (exists && !actor.is_admin && current->owner != actor.user_id) {
                return UploadOutcome{UploadOutcome::Kind::forbidden, std::move(*current)};
            }
            if (expected && ((*expected == 0 && exists) ||
                             (*expected != 0 && (!exists || current->rev != *expected)))) {
                return UploadOutcome{UploadOutcome::Kind::precondition_failed,
                                     exists ? std::move(*current) : FileMetadata{}};
            }
            FileMetadata next;
            next.path = std::string{path};
            next.size_bytes = blob.size_bytes;
            next.content_type = std::string{content_type};
            next.sha256_hex = blob.sha256_hex;
            next.owner = exists ? current->owner : actor.user_id;
            next.updated_at = now_rfc3339();
            next.created_at =
                exists && !current->created_at.empty() ? current->created_at : next.updated_at;
            next.blob = blob.name;
            // The CAS: create-only when absent, else exactly the revision we decided on.
            const std::uint64_t decided_rev = exists ? current->rev : 0;
            auto written = documents_.replace(kCollection, id, to_document(next), decided_rev);
            if (!written && written.error().code == Errc::conflict) continue;  // re-decide
            if (!written) return tl::make_unexpected(written.error());
            next.rev = written->at("_rev").get<std::uint64_t>();
            if (exists) (void)blobs_.retire(current->blob);
            return UploadOutcome{
                exists ? UploadOutcome::Kind::replaced : UploadOutcome::Kind::created,
                std::move(next)};
        }
        return fail(Errc::conflict, "file " + id + ": too many concurrent uploads");
    });
    const bool is_committed = outcome && (outcome->kind == UploadOutcome::Kind::created ||
                                          outcome->kind == UploadOutcome::Kind::replaced);
    // A failed metadata write may still have landed (an fsync error after the
    // link): then the blob is referenced, and removing it would lose the file.
    // Only an outcome we know was refused frees the blob at once; otherwise it
    // is retired, which leaves the grace period for such a late reader.
    if (outcome && !is_committed) (void)blobs_.remove_now(blob.name);
    if (!outcome) (void)blobs_.retire(blob.name);
    return outcome;
}

Result<void> FileRepository::remove(const FileMetadata& current) {
    return config::timed("file_remove", [&]() -> Result<void> {
        auto removed = documents_.remove(kCollection, id_of(current.path), current.rev);
        if (!removed) return tl::make_unexpected(removed.error());
        (void)blobs_.retire(current.blob);
        return {};
    });
}

Result<std::vector<FileMetadata>> FileRepository::list(
    std::string_view prefix, std::optional<std::string_view> owner) const {
    return config::timed("file_list", [&]() -> Result<std::vector<FileMetadata>> {
        std::vector<FileMetadata> files;
        std::optional<Error> damage;
        auto scanned = documents_.scan(kCollection, {}, [&](const std::string&, const Json& doc) {
            auto file = from_document(doc);
            if (!file) {
                damage = file.error();
                return false;
            }
            if (!file->path.starts_with(prefix)) return true;
            if (owner && file->owner != *owner) return true;
            files.push_back(std::move(*file));
            return true;
        });
        if (!scanned && scanned.error().code != Errc::not_found) {
            return tl::make_unexpected(scanned.error());
        }
        if (damage) return tl::make_unexpected(*damage);
        std::sort(files.begin(), files.end(),
                  [](const FileMetadata& a, const FileMetadata& b) { return a.path < b.path; });
        return files;
    });
}

Result<infrastructure::BlobReader> FileRepository::open_content(const FileMetadata& file,
                                                                std::uint64_t offset,
                                                                std::uint64_t length) const {
    return blobs_.open_range(file.blob, file.size_bytes, offset, length);
}

Result<std::size_t> FileRepository::collect_garbage() const {
    return config::timed("file_collect_garbage", [&] { return blobs_.collect_garbage(); });
}

Result<std::size_t> FileRepository::collect_orphans() const {
    return config::timed("file_collect_orphans", [&]() -> Result<std::size_t> {
        // The snapshot comes first: a blob committed after it is younger than
        // the orphan grace, so it is never judged against a stale snapshot.
        std::set<std::string, std::less<>> referenced;
        auto scanned = documents_.scan(kCollection, {}, [&](const std::string&, const Json& doc) {
            if (auto blob = doc.find("blob"); blob != doc.end() && blob->is_string()) {
                referenced.insert(blob->get<std::string>());
            }
            return true;
        });
        if (!scanned && scanned.error().code != Errc::not_found) {
            return tl::make_unexpected(scanned.error());
        }
        return blobs_.remove_unreferenced(
            [&](std::string_view name) { return referenced.find(name) != referenced.end(); });
    });
}

}  // namespace nexu::repositories
