#include "domain/file_path.hpp"

namespace nexu::domain {

namespace {

bool is_allowed_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The reason a decoded segment breaks the rules, or nullptr.
const char* segment_problem(std::string_view segment) {
    if (segment.empty()) return "empty path segment";
    if (segment == "." || segment == "..") return "'.' and '..' segments are not allowed";
    for (const char c : segment) {
        if (c == '\0') return "NUL in the path";
        if (c == '\\') return "backslash in the path";
        if (c == '/') return "encoded '/' in a path segment";
        if (!is_allowed_char(c)) return "path segments take only A-Z a-z 0-9 . _ -";
    }
    return nullptr;
}

}  // namespace

Result<std::string> parse_file_path(std::string_view raw) {
    if (raw.empty()) return fail(Errc::invalid_argument, "the file path is empty");
    if (raw.front() == '/') return fail(Errc::invalid_argument, "absolute paths are not allowed");
    // A raw path over three times the limit cannot decode to one within it.
    if (raw.size() > 3 * kMaxFilePathBytes) {
        return fail(Errc::invalid_argument, "the file path is longer than 1024 bytes");
    }
    std::string path;
    path.reserve(raw.size());
    std::string segment;
    while (true) {
        const auto slash = raw.find('/');
        const auto encoded = raw.substr(0, slash);
        segment.clear();
        for (std::size_t i = 0; i < encoded.size(); ++i) {
            if (encoded[i] != '%') {
                segment += encoded[i];
                continue;
            }
            if (i + 2 >= encoded.size()) {
                return fail(Errc::invalid_argument, "bad percent-encoding in the path");
            }
            const int high = hex_value(encoded[i + 1]);
            const int low = hex_value(encoded[i + 2]);
            if (high < 0 || low < 0) {
                return fail(Errc::invalid_argument, "bad percent-encoding in the path");
            }
            segment += static_cast<char>(high * 16 + low);
            i += 2;
        }
        if (const char* problem = segment_problem(segment)) {
            return fail(Errc::invalid_argument, problem);
        }
        if (!path.empty()) path += '/';
        path += segment;
        if (path.size() > kMaxFilePathBytes) {
            return fail(Errc::invalid_argument, "the file path is longer than 1024 bytes");
        }
        if (slash == std::string_view::npos) break;
        raw.remove_prefix(slash + 1);
    }
    return path;
}

bool is_valid_file_path(std::string_view path) {
    if (path.empty() || path.size() > kMaxFilePathBytes) return false;
    while (true) {
        const auto slash = path.find('/');
        if (segment_problem(path.substr(0, slash)) != nullptr) return false;
        if (slash == std::string_view::npos) return true;
        path.remove_prefix(slash + 1);
    }
}

bool is_valid_file_prefix(std::string_view prefix) {
    if (prefix.empty()) return true;
    if (prefix.size() > kMaxFilePathBytes || prefix.front() == '/') return false;
    while (true) {
        const auto slash = prefix.find('/');
        const auto segment = prefix.substr(0, slash);
        if (slash == std::string_view::npos) {
            // The last piece may be a partial segment (or empty after a final '/').
            if (segment == "." || segment == "..") return false;
            for (const char c : segment) {
                if (!is_allowed_char(c)) return false;
            }
            return true;
        }
        if (segment_problem(segment) != nullptr) return false;
        prefix.remove_prefix(slash + 1);
    }
}

}  // namespace nexu::domain
