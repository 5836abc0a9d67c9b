#include "api/file_routes.hpp"

#include <atomic>
#include <charconv>
#include <chrono>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/problem.hpp"
#include "domain/file_path.hpp"

namespace nexu::api {

namespace {

using repositories::FileMetadata;
using repositories::FileRepository;
using repositories::UploadOutcome;

constexpr std::string_view kFilesPrefix = "/api/v1/files/";
constexpr std::string_view kDefaultContentType = "application/octet-stream";
constexpr std::size_t kMaxContentTypeBytes = 255;
// Retired blobs are collected at most this often, from a request's worker;
// orphaned blobs (a crash mid-commit) at most once per kOrphanInterval.
constexpr auto kGarbageInterval = std::chrono::seconds(60);
constexpr auto kOrphanInterval = std::chrono::hours(1);

std::string_view header_of(const HttpRequest& message, http::field field) {
    const auto it = message.find(field);
    if (it == message.end()) return {};
    return {it->value().data(), it->value().size()};
}

std::string etag_of(std::uint64_t rev) {
    std::string out = "\"";
    out += std::to_string(rev);
    out += '"';
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Whether an If-Match / If-None-Match list names `etag` (weak tags compare
// by their opaque part, as If-None-Match requires) or is `*`.
bool etag_list_matches(std::string_view list, std::string_view etag) {
    while (true) {
        const auto comma = list.find(',');
        auto item = trim(list.substr(0, comma));
        if (item == "*") return true;
        if (item.starts_with("W/")) item.remove_prefix(2);
        if (item == etag) return true;
        if (comma == std::string_view::npos) return false;
        list.remove_prefix(comma + 1);
    }
}

std::optional<Response> require(const domain::access::Principal& principal,
                                std::string_view permission) {
    if (!principal.is_authenticated()) return unauthorized();
    if (principal.is_admin() || principal.permissions.allows(permission)) return std::nullopt;
    std::string detail = "This needs the ";
    detail += permission;
    detail += " permission.";
    return forbidden(detail);
}

bool may_see(const domain::access::Principal& principal, const FileMetadata& file) {
    return principal.is_admin() || file.owner == principal.user_id;
}

// The file path of a /api/v1/files/{path...} request, from the raw target so
// that no escape can hide a separator or a `..`.
Result<std::string> path_of(const Request& request) {
    const auto target = request.message.target();
    std::string_view raw{target.data(), target.size()};
    raw = raw.substr(0, raw.find('?'));
    if (!raw.starts_with(kFilesPrefix)) return fail(Errc::invalid_argument, "not a file path");
    raw.remove_prefix(kFilesPrefix.size());
    return domain::parse_file_path(raw);
}

Response bad_path(const Error& error) {
    return problem(http::status::bad_request, "bad-path", "Bad Path",
                   "The file path is not valid: " + error.context + ".",
                   {{"path",
                     "one or more segments of A-Z a-z 0-9 . _ - (no '.' or '..'), at "
                     "most 1024 bytes"}});
}

Response not_found() {
    return problem(http::status::not_found, "not-found", "Not Found", "No such file.");
}

Response precondition_failed() {
    return problem(http::status::precondition_failed, "precondition-failed", "Precondition Failed",
                   "The file's current revision does not match.");
}

Response file_json(http::status status, const FileMetadata& file) {
    auto response = json_response(status, file.to_json().dump());
    response.set(http::field::etag, etag_of(file.rev));
    return response;
}

void maybe_collect_garbage(const FileRepository& files) {
    static std::atomic<std::int64_t> last_run_s{0};
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
    auto last = last_run_s.load();
    if (now_s - last < kGarbageInterval.count()) return;
    if (!last_run_s.compare_exchange_strong(last, now_s)) return;  // another worker took it
    auto removed = files.collect_garbage();
    if (!removed) spdlog::warn("file garbage collection failed: {}", removed.error().context);

    static std::atomic<std::int64_t> last_orphans_s{0};
    auto last_orphans = last_orphans_s.load();
    if (last_orphans != 0 &&
        now_s - last_orphans <
            std::chrono::duration_cast<std::chrono::seconds>(kOrphanInterval).count()) {
        return;
    }
    if (!last_orphans_s.compare_exchange_strong(last_orphans, now_s)) return;
    if (last_orphans == 0) return;  // the first sweep comes an hour after start
    auto orphans = files.collect_orphans();
    if (!orphans) spdlog::warn("file orphan collection failed: {}", orphans.error().context);
}

// ---- upload ----

class FileUploadSink final : public UploadSink {
public:
    FileUploadSink(FileRepository& files,
                   infrastructure::BlobWriter writer,
                   std::string path,
                   std::string content_type,
                   repositories::FileActor actor,
                   infrastructure::ExpectedRev expected,
                   std::string request_id)
        : files_(files),
          writer_(std::move(writer)),
          path_(std::move(path)),
          content_type_(std::move(content_type)),
          actor_(std::move(actor)),
          expected_(expected),
          request_id_(std::move(request_id)) {}

    std::optional<Response> write(std::string_view piece) override {
        auto written = writer_.write(piece);
        if (!written) return problem_for(written.error(), request_id_);
        return std::nullopt;
    }

    Response finish() override {
        auto blob = writer_.commit();
        if (!blob) return problem_for(blob.error(), request_id_);
        auto outcome = files_.commit_upload(path_, *blob, content_type_, actor_, expected_);
        if (!outcome) return problem_for(outcome.error(), request_id_);
        maybe_collect_garbage(files_);
        switch (outcome->kind) {
            case UploadOutcome::Kind::created: {
                auto response = file_json(http::status::created, outcome->file);
                std::string location{kFilesPrefix};
                location += outcome->file.path;
                response.set(http::field::location, location);
                return response;
            }
            case UploadOutcome::Kind::replaced:
                return file_json(http::status::ok, outcome->file);
            case UploadOutcome::Kind::forbidden:
                return forbidden("This file belongs to another user.");
            case UploadOutcome::Kind::precondition_failed:
                return precondition_failed();
        }
        return problem_for(Error{Errc::io_error, "unknown upload outcome"}, request_id_);
    }

private:
    FileRepository& files_;
    infrastructure::BlobWriter writer_;  // removes its temp file unless committed
    std::string path_;
    std::string content_type_;
    repositories::FileActor actor_;
    infrastructure::ExpectedRev expected_;
    std::string request_id_;
};

UploadStart start_upload(FileRepository& files, const Request& request) {
    if (auto refused = require(request.principal, "files:write")) return {std::move(*refused), {}};
    auto path = path_of(request);
    if (!path) return {bad_path(path.error()), {}};

    auto content_type = std::string{trim(header_of(request.message, http::field::content_type))};
    if (content_type.empty()) content_type = kDefaultContentType;
    if (content_type.size() > kMaxContentTypeBytes) {
        return {problem(http::status::bad_request, "bad-content-type", "Bad Content-Type",
                        "The Content-Type header is longer than 255 bytes."),
                {}};
    }

    // Decided now so a refused upload never sends its body; decided again,
    // with a compare-and-set, when the body has arrived.
    auto current = files.find(*path);
    if (!current && current.error().code != Errc::not_found) {
        return {problem_for(current.error(), request.request_id), {}};
    }
    const bool exists = current.has_value();
    if (exists && !may_see(request.principal, *current)) {
        return {forbidden("This file belongs to another user."), {}};
    }
    infrastructure::ExpectedRev expected;
    const auto if_match = header_of(request.message, http::field::if_match);
    const auto if_none_match = header_of(request.message, http::field::if_none_match);
    if (!if_match.empty()) {
        if (!exists || !etag_list_matches(if_match, etag_of(current->rev))) {
            return {precondition_failed(), {}};
        }
        expected = current->rev;
    }
    if (!if_none_match.empty()) {
        if (exists && etag_list_matches(if_none_match, etag_of(current->rev))) {
            return {precondition_failed(), {}};
        }
        if (trim(if_none_match) == "*") expected = 0;
    }

    auto writer = files.start_upload();
    if (!writer) return {problem_for(writer.error(), request.request_id), {}};
    return {std::nullopt,
            std::make_unique<FileUploadSink>(
                files, std::move(*writer), std::move(*path), std::move(content_type),
                repositories::FileActor{request.principal.user_id, request.principal.is_admin()},
                expected, std::string{request.request_id})};
}

// ---- download ----

class BlobBodySource final : public BodySource {
public:
    explicit BlobBodySource(infrastructure::BlobReader reader) : reader_(std::move(reader)) {}
    Result<std::string> next() override { return reader_.next(); }

private:
    infrastructure::BlobReader reader_;
};

StreamedResponse download(const FileRepository& files, const Request& request) {
    if (auto refused = require(request.principal, "files:read")) return {std::move(*refused)};
    auto path = path_of(request);
    if (!path) return {bad_path(path.error())};
    auto file = files.find(*path);
    if (!file && file.error().code == Errc::not_found) return {not_found()};
    if (!file) return {problem_for(file.error(), request.request_id)};
    if (!may_see(request.principal, *file)) return {not_found()};

    const auto etag = etag_of(file->rev);
    const auto if_none_match = header_of(request.message, http::field::if_none_match);
    if (!if_none_match.empty() && etag_list_matches(if_none_match, etag)) {
        Response not_modified{http::status::not_modified, 11};
        not_modified.set(http::field::etag, etag);
        return {std::move(not_modified)};
    }

    auto range = parse_byte_range(header_of(request.message, http::field::range), file->size_bytes);
    // If-Range: a range only applies to the revision the client names.
    const auto if_range = trim(header_of(request.message, http::field::if_range));
    if (!if_range.empty() && if_range != etag) range = ByteRange{};
    if (range.kind == ByteRange::Kind::unsatisfiable) {
        auto refused =
            problem(http::status::range_not_satisfiable, "range-not-satisfiable",
                    "Range Not Satisfiable", "The requested range lies outside the file.");
        refused.set(http::field::content_range, "bytes */" + std::to_string(file->size_bytes));
        refused.set(http::field::accept_ranges, "bytes");
        return {std::move(refused)};
    }
    const bool is_partial = range.kind == ByteRange::Kind::partial;
    const std::uint64_t offset = is_partial ? range.first : 0;
    const std::uint64_t length = is_partial ? range.last - range.first + 1 : file->size_bytes;

    auto reader = files.open_content(*file, offset, length);
    if (!reader) return {problem_for(reader.error(), request.request_id)};

    Response head{is_partial ? http::status::partial_content : http::status::ok, 11};
    head.set(http::field::content_type,
             file->content_type.empty() ? std::string{kDefaultContentType} : file->content_type);
    head.set(http::field::etag, etag);
    head.set(http::field::accept_ranges, "bytes");
    if (is_partial) {
        std::string content_range = "bytes ";
        content_range += std::to_string(range.first);
        content_range += '-';
        content_range += std::to_string(range.last);
        content_range += '/';
        content_range += std::to_string(file->size_bytes);
        head.set(http::field::content_range, content_range);
    }
    return {std::move(head), length, std::make_unique<BlobBodySource>(std::move(*reader))};
}

// ---- delete and list ----

Response remove(FileRepository& files, const Request& request) {
    if (auto refused = require(request.principal, "files:write")) return std::move(*refused);
    auto path = path_of(request);
    if (!path) return bad_path(path.error());
    const auto if_match = header_of(request.message, http::field::if_match);
    for (int attempt = 0; attempt < 4; ++attempt) {
        auto file = files.find(*path);
        if (!file && file.error().code == Errc::not_found) return not_found();
        if (!file) return problem_for(file.error(), request.request_id);
        if (!may_see(request.principal, *file)) return not_found();
        if (!if_match.empty() && !etag_list_matches(if_match, etag_of(file->rev))) {
            return precondition_failed();
        }
        auto removed = files.remove(*file);
        if (removed) {
            maybe_collect_garbage(files);
            return Response{http::status::no_content, 11};
        }
        if (removed.error().code != Errc::conflict) {
            return problem_for(removed.error(), request.request_id);
        }
        // Changed since we read it: decide again against the new revision.
    }
    return problem_for(Error{Errc::conflict, "file busy"}, request.request_id);
}

Response list(const FileRepository& files, const Request& request) {
    if (auto refused = require(request.principal, "files:read")) return std::move(*refused);
    const auto target = request.message.target();
    const std::string_view target_view{target.data(), target.size()};
    std::string prefix;
    if (target_view.find("prefix=") != std::string_view::npos &&
        !query_param(target_view, "prefix", prefix)) {
        prefix = std::string(1, '\0');  // a bad escape: refused below
    }
    if (!domain::is_valid_file_prefix(prefix)) {
        return problem(http::status::bad_request, "bad-prefix", "Bad Prefix",
                       "The prefix must be a file path prefix of A-Z a-z 0-9 . _ - and '/'.",
                       {{"prefix", "a path prefix such as dir/ or dir/report"}});
    }
    std::optional<std::string_view> owner;
    if (!request.principal.is_admin()) owner = request.principal.user_id;
    auto found = files.list(prefix, owner);
    if (!found) return problem_for(found.error(), request.request_id);
    auto items = nlohmann::json::array();
    for (const auto& file : *found) items.push_back(file.to_json());
    return json_response(http::status::ok, nlohmann::json{{"items", std::move(items)}}.dump());
}

bool parse_number(std::string_view text, std::uint64_t& out) {
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

ByteRange parse_byte_range(std::string_view header, std::uint64_t size) {
    header = trim(header);
    constexpr std::string_view kUnit = "bytes=";
    if (header.size() < kUnit.size()) return {};
    for (std::size_t i = 0; i < kUnit.size(); ++i) {
        const char c = header[i];
        if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kUnit[i]) return {};
    }
    const auto spec = trim(header.substr(kUnit.size()));
    if (spec.find(',') != std::string_view::npos) return {};  // several ranges: the whole file
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return {};
    const auto first_text = trim(spec.substr(0, dash));
    const auto last_text = trim(spec.substr(dash + 1));
    const ByteRange unsatisfiable{ByteRange::Kind::unsatisfiable, 0, 0};
    if (first_text.empty()) {
        std::uint64_t suffix = 0;
        if (!parse_number(last_text, suffix)) return {};
        if (suffix == 0 || size == 0) return unsatisfiable;
        const auto length = std::min(suffix, size);
        return {ByteRange::Kind::partial, size - length, size - 1};
    }
    std::uint64_t first = 0;
    if (!parse_number(first_text, first)) return {};
    std::uint64_t last = size == 0 ? 0 : size - 1;
    if (!last_text.empty()) {
        if (!parse_number(last_text, last)) return {};
        if (last < first) return {};  // invalid: ignored
    }
    if (first >= size) return unsatisfiable;
    return {ByteRange::Kind::partial, first, std::min(last, size - 1)};
}

void add_file_routes(Router& router, FileRepository& files, std::size_t max_file_bytes) {
    router.add_upload(
        http::verb::put, "/api/v1/files/{path...}",
        [&files](const Request& request) { return start_upload(files, request); }, max_file_bytes);
    router.add_streamed(http::verb::get, "/api/v1/files/{path...}",
                        [&files](const Request& request) { return download(files, request); });
    router.add(http::verb::delete_, "/api/v1/files/{path...}",
               [&files](const Request& request) { return remove(files, request); });
    router.add(http::verb::get, "/api/v1/files",
               [&files](const Request& request) { return list(files, request); });
}

}  // namespace nexu::api
