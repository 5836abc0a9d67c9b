#include "api/router.hpp"

#include <stdexcept>

namespace nexu::api {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    path.remove_prefix(1);  // the leading '/'
    while (true) {
        const auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return parts;
}

// Matches literal segments against raw path parts (so an encoded '/' never
// completes a literal) and decodes the parts bound to parameters.
enum class SegmentsMatch { yes, no, bad_encoding };

SegmentsMatch match_segments(const Route& route,
                             const std::vector<std::string_view>& parts,
                             PathParams& params) {
    params.clear();
    std::size_t i = 0;
    for (const auto& segment : route.segments) {
        if (segment.takes_rest) {
            if (i >= parts.size()) return SegmentsMatch::no;
            std::string rest;
            for (std::size_t j = i; j < parts.size(); ++j) {
                if (j > i) rest += '/';
                rest += parts[j];
            }
            std::string decoded;
            if (!percent_decode(rest, decoded)) return SegmentsMatch::bad_encoding;
            params.emplace_back(segment.text, std::move(decoded));
            return SegmentsMatch::yes;
        }
        if (i >= parts.size()) return SegmentsMatch::no;
        if (segment.is_param) {
            std::string decoded;
            if (parts[i].empty()) return SegmentsMatch::no;
            if (!percent_decode(parts[i], decoded)) return SegmentsMatch::bad_encoding;
            params.emplace_back(segment.text, std::move(decoded));
        } else if (parts[i] != segment.text) {
            return SegmentsMatch::no;
        }
        ++i;
    }
    return i == parts.size() ? SegmentsMatch::yes : SegmentsMatch::no;
}

}  // namespace

bool percent_decode(std::string_view text, std::string& out) {
    out.clear();
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return false;
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) return false;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return true;
}

bool query_param(std::string_view target, std::string_view name, std::string& out) {
    const auto question = target.find('?');
    if (question == std::string_view::npos) return false;
    auto query = target.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (pair.substr(0, equals) == name) {
            std::string raw{equals == std::string_view::npos ? std::string_view{}
                                                             : pair.substr(equals + 1)};
            for (auto& c : raw) {
                if (c == '+') c = ' ';
            }
            return percent_decode(raw, out);
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return false;
}

void Router::add(http::verb method,
                 std::string_view pattern,
                 Handler handler,
                 Dispatch dispatch,
                 std::size_t max_body_bytes,
                 Credentials credentials) {
    if (pattern.empty() || pattern.front() != '/') {
        throw std::invalid_argument("route pattern must start with '/': " + std::string{pattern});
    }
    Route route{method,   std::string{pattern}, std::move(handler), {},
                dispatch, max_body_bytes,       credentials,        {}};
    for (const auto part : split_path(pattern)) {
        Route::Segment segment;
        if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
            auto name = part.substr(1, part.size() - 2);
            segment.is_param = true;
            if (name.ends_with("...")) {
                segment.takes_rest = true;
                name.remove_suffix(3);
            }
            segment.text = std::string{name};
        } else {
            segment.text = std::string{part};
        }
        route.segments.push_back(std::move(segment));
    }
    routes_.push_back(std::move(route));
}

void Router::add_deferred(http::verb method,
                          std::string_view pattern,
                          DeferredHandler handler,
                          Dispatch dispatch,
                          std::size_t max_body_bytes,
                          Credentials credentials) {
    add(method, pattern, Handler{}, dispatch, max_body_bytes, credentials);
    routes_.back().deferred_handler = std::move(handler);
}

void Router::add_streamed(http::verb method,
                          std::string_view pattern,
                          StreamHandler handler,
                          Credentials credentials) {
    add(method, pattern, Handler{}, Dispatch::worker, 0, credentials);
    routes_.back().stream_handler = std::move(handler);
}

void Router::add_upload(http::verb method,
                        std::string_view pattern,
                        UploadHandler handler,
                        std::size_t max_body_bytes,
                        Credentials credentials) {
    add(method, pattern, Handler{}, Dispatch::worker, max_body_bytes, credentials);
    routes_.back().upload_handler = std::move(handler);
}

RouteMatch Router::match(http::verb method, std::string_view target) const {
    RouteMatch result;
    const auto path = target.substr(0, target.find('?'));
    if (path.empty() || path.front() != '/') {
        result.kind = RouteMatch::Kind::bad_path;
        return result;
    }
    const auto parts = split_path(path);
    const Route* get_route = nullptr;
    PathParams get_params;
    PathParams params;
    for (const auto& route : routes_) {
        const auto matched = match_segments(route, parts, params);
        if (matched == SegmentsMatch::bad_encoding) {
            result.kind = RouteMatch::Kind::bad_path;
            return result;
        }
        if (matched == SegmentsMatch::no) continue;
        if (route.method == method) {
            result.kind = RouteMatch::Kind::found;
            result.route = &route;
            result.params = std::move(params);
            return result;
        }
        if (method == http::verb::head && route.method == http::verb::get && !get_route) {
            get_route = &route;
            get_params = params;
        }
        const auto name = http::to_string(route.method);
        if (result.allow.find(name) == std::string::npos) {
            if (!result.allow.empty()) result.allow += ", ";
            result.allow.append(name.data(), name.size());
            if (route.method == http::verb::get) result.allow += ", HEAD";
        }
        result.kind = RouteMatch::Kind::method_not_allowed;
    }
    if (get_route) {
        result.kind = RouteMatch::Kind::found;
        result.route = get_route;
        result.params = std::move(get_params);
        result.allow.clear();
    }
    if (result.kind == RouteMatch::Kind::method_not_allowed) result.allow += ", OPTIONS";
    return result;
}

}  // namespace nexu::api
