#include "domain/json_body.hpp"

namespace nexu::domain {

DepthCheck check_json_depth(std::string_view text, std::size_t max_depth) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;  // the escaped character cannot end the string
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return {false, i};
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return {true, 0};
}

Result<nlohmann::json> parse_json(std::string_view text, std::size_t max_depth) {
    if (const auto depth = check_json_depth(text, max_depth); !depth.within_limit) {
        return fail(Errc::limit_exceeded, "JSON nested deeper than " + std::to_string(max_depth) +
                                              " levels at position " +
                                              std::to_string(depth.position));
    }
    auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) return value;
    // Parse again with exceptions only on the failure path, for the position and reason.
    try {
        const auto unreachable = nlohmann::json::parse(text);  // throws: the first parse failed
        static_cast<void>(unreachable);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 5:
        // syntax error while parsing value - invalid literal; last read: 'tru,'"; keep the
        // reason after the last " - " but not the echoed input, which could be long or secret.
        std::string reason = e.what();
        if (const auto dash = reason.find(" - "); dash != std::string::npos) {
            reason = reason.substr(dash + 3);
        }
        if (const auto last_read = reason.find("; last read"); last_read != std::string::npos) {
            reason.resize(last_read);
        }
        const auto position = e.byte > 0 ? e.byte - 1 : 0;
        return fail(Errc::invalid_argument,
                    "invalid JSON at position " + std::to_string(position) + ": " + reason);
    } catch (const nlohmann::json::exception& e) {
        return fail(Errc::invalid_argument, "invalid JSON");
    }
    return fail(Errc::invalid_argument, "invalid JSON");
}

}  // namespace nexu::domain
