#include "api/json_request.hpp"

#include "api/problem.hpp"
#include "domain/json_body.hpp"

namespace nexu::api {

namespace {

// "application/json; charset=utf-8" → "application/json", lower-cased.
std::string media_type(std::string_view content_type) {
    const auto semicolon = content_type.find(';');
    auto type = content_type.substr(0, semicolon);
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    std::string lower{type};
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
}

}  // namespace

tl::expected<nlohmann::json, Response> read_json_body(const Request& request,
                                                      std::string_view also_accepted) {
    const auto header = request.message[http::field::content_type];
    const auto type = media_type({header.data(), header.size()});
    if (type != "application/json" && (also_accepted.empty() || type != also_accepted)) {
        std::string expected = "application/json";
        if (!also_accepted.empty()) expected += " or " + std::string{also_accepted};
        return tl::make_unexpected(problem(http::status::unsupported_media_type,
                                           "unsupported-media-type", "Unsupported Media Type",
                                           "The body must be " + expected + "."));
    }
    auto parsed = domain::parse_json(request.message.body());
    if (parsed) return std::move(*parsed);
    // parse_json's context is written to be shown: a position and a reason, no input echoed.
    const bool too_deep = parsed.error().code == Errc::limit_exceeded;
    return tl::make_unexpected(
        problem(http::status::bad_request, too_deep ? "json-too-deep" : "invalid-json",
                too_deep ? "JSON Too Deep" : "Invalid JSON", parsed.error().context));
}

}  // namespace nexu::api
