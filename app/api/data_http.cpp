#include "api/data_http.hpp"

#include <charconv>
#include <string>
#include <vector>

#include "api/problem.hpp"
#include "api/router.hpp"

namespace nexu::api {

namespace {

using Kind = repositories::DataFailure::Kind;

std::string_view header(const Request& request, http::field field) {
    const auto found = request.message.find(field);
    if (found == request.message.end()) return {};
    return {found->value().data(), found->value().size()};
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// The entity tags of a list header; sets `any` for `*`.
std::vector<std::uint64_t> entity_tags(std::string_view text, bool& any) {
    std::vector<std::uint64_t> revs;
    while (!text.empty()) {
        const auto comma = text.find(',');
        auto tag = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (tag == "*") {
            any = true;
            continue;
        }
        if (tag.starts_with("W/")) tag.remove_prefix(2);
        if (tag.size() < 3 || tag.front() != '"' || tag.back() != '"') continue;
        tag = tag.substr(1, tag.size() - 2);
        std::uint64_t rev = 0;
        const auto [end, ec] = std::from_chars(tag.data(), tag.data() + tag.size(), rev);
        if (ec == std::errc{} && end == tag.data() + tag.size()) revs.push_back(rev);
    }
    return revs;
}

}  // namespace

Response data_failure_response(const repositories::DataFailure& failure,
                               std::string_view request_id) {
    switch (failure.kind) {
        case Kind::storage:
            return problem_for(failure.error, request_id);
        case Kind::not_found:
            return problem(
                http::status::not_found, "not-found", "Not Found",
                failure.detail.empty() ? "The requested resource does not exist." : failure.detail);
        case Kind::unauthorized:
            return unauthorized();
        case Kind::forbidden:
            return forbidden(failure.detail);
        case Kind::precondition_failed:
            return problem(http::status::precondition_failed, "precondition-failed",
                           "Precondition Failed", failure.detail);
        case Kind::bad_request:
            return problem(http::status::bad_request, "bad-request", "Bad Request", failure.detail);
        case Kind::unprocessable:
            return problem(http::status::unprocessable_entity, "unprocessable",
                           "Unprocessable Content", failure.detail);
    }
    return problem_for(failure.error, request_id);
}

std::string etag_of(std::uint64_t rev) {
    std::string out = "\"";
    out += std::to_string(rev);
    out += '"';
    return out;
}

repositories::WritePreconditions write_preconditions(const Request& request) {
    repositories::WritePreconditions conditions;
    const auto if_match = header(request, http::field::if_match);
    if (request.message.find(http::field::if_match) != request.message.end()) {
        conditions.has_if_match = true;
        conditions.if_match_revs = entity_tags(if_match, conditions.if_match_any);
    }
    bool any = false;
    entity_tags(header(request, http::field::if_none_match), any);
    conditions.if_none_match_any = any;
    return conditions;
}

bool is_not_modified(const Request& request, std::uint64_t rev) {
    const auto value = header(request, http::field::if_none_match);
    if (value.empty()) return false;
    bool any = false;
    const auto revs = entity_tags(value, any);
    if (any) return true;
    for (const auto listed : revs) {
        if (listed == rev) return true;
    }
    return false;
}

std::optional<std::size_t> page_limit(const Request& request,
                                      std::size_t default_limit,
                                      std::size_t max_limit) {
    std::string text;
    if (!query_param(request.message.target(), "limit", text)) {
        // Present but badly encoded is as wrong as a bad number.
        const auto target = request.message.target();
        const std::string_view view{target.data(), target.size()};
        if (view.find("limit=") != std::string_view::npos) return std::nullopt;
        return default_limit;
    }
    std::size_t limit = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc{} || end != text.data() + text.size() || limit == 0 || limit > max_limit)
        return std::nullopt;
    return limit;
}

Response bad_parameter(std::string_view name, std::string_view detail) {
    return problem(http::status::bad_request, "bad-request", "Bad Request", detail,
                   {FieldError{std::string{name}, std::string{detail}}});
}

}  // namespace nexu::api
