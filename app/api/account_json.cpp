#include "api/account_json.hpp"

namespace nexu::api {

std::optional<std::string> FieldReader::text(std::string_view field, bool required) {
    const auto it = body_.find(field);
    if (it == body_.end() || it->is_null()) {
        if (required) add_error(field, "is required");
        return std::nullopt;
    }
    if (!it->is_string()) {
        add_error(field, "must be a string");
        return std::nullopt;
    }
    return it->get<std::string>();
}

void FieldReader::add_error(std::string_view field, std::string message) {
    errors_.push_back({std::string{field}, std::move(message)});
}

Response FieldReader::problem_response(http::status status) const {
    if (status == http::status::unprocessable_entity) {
        return problem(status, "validation", "Validation Failed",
                       "Some fields break the rules; see errors.", errors_);
    }
    return problem(status, "bad-request", "Bad Request", "The request body does not have the expected form; see errors.",
                   errors_);
}

Response json_ok(http::status status, const nlohmann::json& body) {
    return json_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace nexu::api
