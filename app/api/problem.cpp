#include "api/problem.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace nexu::api {

Response problem(http::status status,
                 std::string_view slug,
                 std::string_view title,
                 std::string_view detail,
                 const std::vector<FieldError>& errors) {
    nlohmann::json body{{"type", "/problems/" + std::string{slug}},
                        {"title", title},
                        {"status", static_cast<unsigned>(status)},
                        {"detail", detail}};
    if (!errors.empty()) {
        auto& list = body["errors"] = nlohmann::json::array();
        for (const auto& error : errors) {
            list.push_back({{"field", error.field}, {"message", error.message}});
        }
    }
    Response response{status, 11};
    response.set(http::field::content_type, "application/problem+json");
    // Replacement characters instead of an exception if a detail carried bad UTF-8.
    response.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return response;
}

Response unauthorized() {
    auto response = problem(http::status::unauthorized, "unauthorized", "Unauthorized",
                            "A valid access token is required.");
    response.set(http::field::www_authenticate, "Bearer");
    return response;
}

Response forbidden(std::string_view detail) {
    return problem(http::status::forbidden, "forbidden", "Forbidden", detail);
}

Response problem_for(const Error& error, std::string_view request_id) {
    switch (error.code) {
        case Errc::not_found:
            return problem(http::status::not_found, "not-found", "Not Found",
                           "The requested resource does not exist.");
        case Errc::conflict:
            return problem(http::status::conflict, "conflict", "Conflict",
                           "The request conflicts with the current state of the resource.");
        case Errc::invalid_argument:
            return problem(http::status::bad_request, "bad-request", "Bad Request",
                           "The request could not be understood.");
        case Errc::limit_exceeded:
            return problem(http::status::bad_request, "limit-exceeded", "Limit Exceeded",
                           "The request exceeds a configured limit.");
        case Errc::corrupt_object:
            spdlog::error("corrupt object request_id={} {}", request_id, error.context);
            return problem(http::status::internal_server_error, "corrupt-object", "Corrupt Object",
                           "Stored data failed its integrity check; operators have been alerted.");
        case Errc::io_error:
            spdlog::error("storage I/O error request_id={} {}", request_id, error.context);
            return problem(http::status::internal_server_error, "storage-error", "Storage Error",
                           "The data directory reported an I/O error.");
        case Errc::unavailable: {
            spdlog::warn("unavailable request_id={} {}", request_id, error.context);
            auto response =
                problem(http::status::service_unavailable, "unavailable", "Service Unavailable",
                        "The service cannot complete this request now; retry shortly.");
            response.set(http::field::retry_after, "1");
            return response;
        }
    }
    spdlog::error("unmapped error request_id={} {}", request_id, error.context);
    return problem(http::status::internal_server_error, "internal", "Internal Server Error",
                   "The server failed to complete the request.");
}

}  // namespace nexu::api
