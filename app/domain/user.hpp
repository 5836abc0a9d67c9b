#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"

namespace nexu::domain {

// An account. The password hash never leaves the server: `to_public_json`
// is the only view the API returns.
struct User {
    std::string id;  // UUIDv7
    std::string username;
    std::string email;  // as given; empty when none
    std::string display_name;
    std::vector<std::string> roles;
    bool disabled = false;
    std::string created_at;
    std::string updated_at;
    std::string password_hash;  // Argon2id (crypto_pwhash_str)
    std::uint64_t rev = 0;      // the stored document's revision

    bool has_role(std::string_view role) const;
};

// {"id","username","email","display_name","roles","disabled","created_at","updated_at"}
nlohmann::json to_public_json(const User& user);
// The stored form: everything but `id` and `rev`, which the store keeps.
nlohmann::json to_stored_json(const User& user);
Result<User> user_from_stored(std::string_view id, std::uint64_t rev, const nlohmann::json& body);

// Rules of API.md, each returning the message for a 422 (nullopt when fine).
// Usernames: 3-32 of [a-z0-9_.-] (uppercase refused, not folded).
std::optional<std::string> username_problem(std::string_view username);
// E-mail: one '@' with something on each side, no spaces or controls, at most 254 bytes.
std::optional<std::string> email_problem(std::string_view email);
// Display names: 0-100 code points of valid UTF-8 without control characters.
std::optional<std::string> display_name_problem(std::string_view display_name);
// Role names: 1-64 of [a-z0-9_.-].
bool is_valid_role_name(std::string_view name);

// Unicode code points in valid UTF-8; nullopt when the bytes are not UTF-8.
std::optional<std::size_t> count_code_points(std::string_view utf8);

// The e-mail address as compared for uniqueness (ASCII case folded).
std::string normalized_email(std::string_view email);

}  // namespace nexu::domain
