#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http_types.hpp"
#include "api/problem.hpp"

namespace nexu::api {

// Reads string members of a JSON request body, collecting one error per bad
// field, so a client sees every problem of a form at once.
class FieldReader {
public:
    explicit FieldReader(const nlohmann::json& body) : body_(body) {}

    // The member's text; an error when it is missing (if `required`) or not a string.
    std::optional<std::string> text(std::string_view field, bool required = true);
    void add_error(std::string_view field, std::string message);
    bool has_errors() const { return !errors_.empty(); }
    // 400 for a body that cannot be read as the form (not an object, wrong
    // types), 422 for values that break a rule.
    Response problem_response(http::status status) const;

private:
    const nlohmann::json& body_;
    std::vector<FieldError> errors_;
};

// 200/201 with a JSON body and no caching.
Response json_ok(http::status status, const nlohmann::json& body);

}  // namespace nexu::api
