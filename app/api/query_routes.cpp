#include "api/query_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/data_http.hpp"
#include "api/json_request.hpp"
#include "api/problem.hpp"

namespace nexu::api {

namespace {

using Json = nlohmann::json;
using repositories::QueryService;

Response invalid_field(std::string_view field, std::string_view message) {
    return problem(http::status::unprocessable_entity, "validation-failed", "Validation Failed",
                   message, {FieldError{std::string{field}, std::string{message}}});
}

}  // namespace

void add_query_routes(Router& router, QueryService& queries) {
    router.add(
        http::verb::post, "/api/v1/collections/{c}/query", [&queries](const Request& request) {
            const auto name = request.param("c");
            if (!domain::access::is_valid_collection_name(name)) {
                return bad_parameter("c", "A collection name matches [a-z][a-z0-9_-]{0,63}.");
            }
            auto body = read_json_body(request);
            if (!body) return std::move(body.error());
            if (!body->is_object()) return invalid_field("", "The body must be a JSON object.");
            const auto jsonpath = body->find("jsonpath");
            if (jsonpath == body->end() || !jsonpath->is_string()) {
                return invalid_field("jsonpath", "jsonpath is required: an RFC 9535 query string.");
            }
            std::size_t limit = QueryService::kDefaultLimit;
            if (const auto given = body->find("limit"); given != body->end() && !given->is_null()) {
                if (!given->is_number_integer()) {
                    return bad_parameter("limit", "limit is a whole number from 1 to 1000.");
                }
                const auto value = given->get<std::int64_t>();
                if (value < 1 || value > static_cast<std::int64_t>(QueryService::kMaxLimit)) {
                    return bad_parameter("limit", "limit is a whole number from 1 to 1000.");
                }
                limit = static_cast<std::size_t>(value);
            }
            std::string cursor;
            if (const auto given = body->find("cursor");
                given != body->end() && !given->is_null()) {
                if (!given->is_string()) return bad_parameter("cursor", "Invalid cursor.");
                cursor = given->get<std::string>();
                if (cursor.empty()) return bad_parameter("cursor", "Invalid cursor.");
            }
            for (const auto& [key, value] : body->items()) {
                if (key != "jsonpath" && key != "limit" && key != "cursor") {
                    return invalid_field(key,
                                         "Unknown member; a query has jsonpath, limit and cursor.");
                }
            }
            auto page = queries.run(request.principal, name,
                                    jsonpath->get_ref<const std::string&>(), limit, cursor);
            if (!page) return data_failure_response(page.error(), request.request_id);
            return json_response(http::status::ok, std::move(*page));
        },
        Dispatch::read_worker);
}

}  // namespace nexu::api
