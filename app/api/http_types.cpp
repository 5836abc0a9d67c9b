#include "api/http_types.hpp"

namespace nexu::api {

std::string_view Request::param(std::string_view name) const {
    for (const auto& [key, value] : params) {
        if (key == name) return value;
    }
    return {};
}

Response json_response(http::status status, std::string body) {
    Response response{status, 11};
    response.set(http::field::content_type, "application/json");
    response.body() = std::move(body);
    return response;
}

}  // namespace nexu::api
