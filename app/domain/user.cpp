#include "domain/user.hpp"

#include <algorithm>

#include "domain/jsonpath/utf8.hpp"

namespace nexu::domain {

bool User::has_role(std::string_view role) const {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
}

nlohmann::json to_public_json(const User& user) {
    return {{"id", user.id},
            {"username", user.username},
            {"email", user.email.empty() ? nlohmann::json(nullptr) : nlohmann::json(user.email)},
            {"display_name", user.display_name},
            {"roles", user.roles},
            {"disabled", user.disabled},
            {"created_at", user.created_at},
            {"updated_at", user.updated_at}};
}

nlohmann::json to_stored_json(const User& user) {
    return {{"username", user.username},       {"email", user.email},
            {"display_name", user.display_name}, {"roles", user.roles},
            {"disabled", user.disabled},       {"created_at", user.created_at},
            {"updated_at", user.updated_at},   {"password_hash", user.password_hash}};
}

Result<User> user_from_stored(std::string_view id, std::uint64_t rev, const nlohmann::json& body) {
    try {
        User user;
        user.id = std::string{id};
        user.rev = rev;
        user.username = body.at("username").get<std::string>();
        user.email = body.value("email", "");
        user.display_name = body.value("display_name", "");
        user.roles = body.at("roles").get<std::vector<std::string>>();
        user.disabled = body.value("disabled", false);
        user.created_at = body.value("created_at", "");
        user.updated_at = body.value("updated_at", "");
        user.password_hash = body.at("password_hash").get<std::string>();
        return user;
    } catch (const nlohmann::json::exception& e) {
        return fail(Errc::corrupt_object, "user " + std::string{id} + ": " + e.what());
    }
}

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

std::optional<std::string> username_problem(std::string_view username) {
    if (username.size() < 3 || username.size() > 32) {
        return "must be 3 to 32 characters long";
    }
    if (!std::all_of(username.begin(), username.end(), is_name_char)) {
        return "may contain only lowercase letters a-z, digits and the characters _ . -";
    }
    return std::nullopt;
}

std::optional<std::string> email_problem(std::string_view email) {
    const auto at = email.find('@');
    if (email.size() > 254 || at == std::string_view::npos || at == 0 || at + 1 == email.size() ||
        email.find('@', at + 1) != std::string_view::npos) {
        return "must be an e-mail address such as name@example.com";
    }
    const bool clean = std::none_of(email.begin(), email.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f;
    });
    if (!clean || !count_code_points(email)) return "must not contain spaces or control characters";
    return std::nullopt;
}

std::optional<std::string> display_name_problem(std::string_view display_name) {
    const auto length = count_code_points(display_name);
    if (!length) return "must be valid UTF-8";
    if (*length > 100) return "must be at most 100 characters long";
    const bool has_control = std::any_of(display_name.begin(), display_name.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
    if (has_control) return "must not contain control characters";
    return std::nullopt;
}

bool is_valid_role_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), is_name_char);
}

std::optional<std::size_t> count_code_points(std::string_view utf8) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < utf8.size(); ++count) {
        const auto decoded = jsonpath::decode_utf8(utf8, i);
        if (!decoded) return std::nullopt;
        i += decoded->length;
    }
    return count;
}

std::string normalized_email(std::string_view email) {
    std::string folded{email};
    std::transform(folded.begin(), folded.end(), folded.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return folded;
}

}  // namespace nexu::domain
