#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace nexu::domain {

// What a new password must be (OWASP ASVS 4.0.3 V2.1, NIST SP 800-63B
// 5.1.1.2): 12 to 128 Unicode code points, compared exactly as sent (no
// normalisation, no truncation), and not a commonly breached password.
//
// "Commonly breached" uses the list of the john-data Debian package
// (/usr/share/john/password.lst: about 3,500 passwords, ranked by how often
// they appeared in breached password databases), embedded at build time. Few
// of its entries reach 12 characters, so a candidate is also refused when it
// is built from one the way people stretch a short password to a length rule:
// the entry with digits or symbols before or after ("password1234!"), repeated
// ("monkeymonkey"), in any letter case, or when it is a run of one character,
// a sequence ("123456789012", "abcdefghijkl") or a keyboard row walk
// ("qwertyuiop[]"), or contains the username.
class PasswordPolicy {
public:
    static constexpr std::size_t kMinCodePoints = 12;
    static constexpr std::size_t kMaxCodePoints = 128;

    PasswordPolicy();  // with the embedded list

    // The reason the password is refused (for a 422), or nullopt.
    std::optional<std::string> problem(std::string_view password,
                                       std::string_view username = {}) const;

private:
    bool is_common(std::string_view lowered) const;

    std::unordered_set<std::string> common_;
};

// The embedded list, one password per line (generated from john-data).
std::string_view common_password_list();

}  // namespace nexu::domain
