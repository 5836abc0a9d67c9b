#include "api/document_routes.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "api/data_http.hpp"
#include "api/json_request.hpp"
#include "api/problem.hpp"

namespace nexu::api {

namespace {

using Json = nlohmann::json;
using repositories::DocumentService;
using repositories::DocumentView;

constexpr std::string_view kMergePatch = "application/merge-patch+json";

Response bad_name() {
    return bad_parameter("c", "A collection name matches [a-z][a-z0-9_-]{0,63}.");
}

std::string location_of(std::string_view collection, std::string_view id) {
    std::string out = "/api/v1/collections/";
    out += collection;
    out += "/documents/";
    out += id;
    return out;
}

Response document_response(http::status status, const DocumentView& view) {
    auto response = json_response(status, view.to_json());
    response.set(http::field::etag, etag_of(view.rev));
    return response;
}

Response created_response(std::string_view collection, const DocumentView& view) {
    auto response = document_response(http::status::created, view);
    response.set(http::field::location, location_of(collection, view.id));
    return response;
}

std::string media_type(const Request& request) {
    const auto found = request.message.find(http::field::content_type);
    if (found == request.message.end()) return {};
    std::string_view value{found->value().data(), found->value().size()};
    value = value.substr(0, value.find(';'));
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    std::string lower{value};
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
}

}  // namespace

void add_document_routes(Router& router, DocumentService& documents) {
    constexpr std::string_view kDocuments = "/api/v1/collections/{c}/documents";
    constexpr std::string_view kDocument = "/api/v1/collections/{c}/documents/{id}";

    router.add(http::verb::post, kDocuments, [&documents](const Request& request) {
        const auto name = request.param("c");
        if (!domain::access::is_valid_collection_name(name)) return bad_name();
        auto body = read_json_body(request);
        if (!body) return std::move(body.error());
        auto created = documents.create(request.principal, name, std::move(*body));
        if (!created) return data_failure_response(created.error(), request.request_id);
        return created_response(name, *created);
    });

    router.add(http::verb::get, kDocuments, [&documents](const Request& request) {
        const auto name = request.param("c");
        if (!domain::access::is_valid_collection_name(name)) return bad_name();
        const auto limit =
            page_limit(request, DocumentService::kDefaultPageSize, DocumentService::kMaxPageSize);
        if (!limit) return bad_parameter("limit", "limit is a whole number from 1 to 1000.");
        std::string cursor;
        const auto target = request.message.target();
        if (!query_param({target.data(), target.size()}, "cursor", cursor)) cursor.clear();
        auto page = documents.list(request.principal, name, cursor, *limit);
        if (!page) return data_failure_response(page.error(), request.request_id);
        std::string body = "{\"items\":[";
        for (std::size_t i = 0; i < page->items.size(); ++i) {
            if (i != 0) body += ',';
            body += page->items[i].to_json();
        }
        body += "],\"next_cursor\":";
        body += page->next_cursor.empty() ? "null" : Json(page->next_cursor).dump();
        body += '}';
        return json_response(http::status::ok, std::move(body));
    });

    router.add(http::verb::get, kDocument, [&documents](const Request& request) {
        const auto name = request.param("c");
        if (!domain::access::is_valid_collection_name(name)) return bad_name();
        auto found = documents.get(request.principal, name, request.param("id"));
        if (!found) return data_failure_response(found.error(), request.request_id);
        if (is_not_modified(request, found->rev)) {
            Response response{http::status::not_modified, 11};
            response.set(http::field::etag, etag_of(found->rev));
            return response;
        }
        return document_response(http::status::ok, *found);
    });

    router.add(http::verb::put, kDocument, [&documents](const Request& request) {
        const auto name = request.param("c");
        if (!domain::access::is_valid_collection_name(name)) return bad_name();
        auto body = read_json_body(request);
        if (!body) return std::move(body.error());
        auto replaced = documents.replace(request.principal, name, request.param("id"),
                                          std::move(*body), write_preconditions(request));
        if (!replaced) return data_failure_response(replaced.error(), request.request_id);
        if (replaced->is_created) return created_response(name, replaced->view);
        return document_response(http::status::ok, replaced->view);
    });

    router.add(http::verb::patch, kDocument, [&documents](const Request& request) {
        const auto name = request.param("c");
        if (!domain::access::is_valid_collection_name(name)) return bad_name();
        if (media_type(request) != kMergePatch) {
            return problem(http::status::unsupported_media_type, "unsupported-media-type",
                           "Unsupported Media Type",
                           "A merge patch must be sent as application/merge-patch+json.");
        }
        auto patch = read_json_body(request, kMergePatch);
        if (!patch) return std::move(patch.error());
        auto patched = documents.patch(request.principal, name, request.param("id"), *patch,
                                       write_preconditions(request));
        if (!patched) return data_failure_response(patched.error(), request.request_id);
        return document_response(http::status::ok, *patched);
    });

    router.add(http::verb::delete_, kDocument, [&documents](const Request& request) {
        const auto name = request.param("c");
        if (!domain::access::is_valid_collection_name(name)) return bad_name();
        auto removed = documents.remove(request.principal, name, request.param("id"),
                                        write_preconditions(request));
        if (!removed) return data_failure_response(removed.error(), request.request_id);
        return Response{http::status::no_content, 11};
    });
}

}  // namespace nexu::api
