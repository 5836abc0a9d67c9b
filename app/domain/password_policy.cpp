#include "domain/password_policy.hpp"

#include <algorithm>
#include <array>

#include "domain/user.hpp"

namespace nexu::domain {

namespace {

std::string ascii_lower(std::string_view text) {
    std::string lowered{text};
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return lowered;
}

bool is_padding(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

// "aaaaaaaaaaaa", "abcabcabcabc": the text is its first `period` bytes repeated.
std::size_t shortest_period(std::string_view text) {
    for (std::size_t period = 1; period <= text.size() / 2; ++period) {
        if (text.size() % period != 0) continue;
        bool repeats = true;
        for (std::size_t i = period; i < text.size() && repeats; ++i) {
            repeats = text[i] == text[i - period];
        }
        if (repeats) return period;
    }
    return text.size();
}

// Every character one step up or down from the previous one along some
// well-known sequence: digits, the alphabet, keyboard rows.
bool is_sequence_walk(std::string_view lowered) {
    static constexpr std::array<std::string_view, 6> kSequences = {
        "01234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop[]\\", "asdfghjkl;'",
        "zxcvbnm,./", "`1234567890-="};
    if (lowered.size() < 2) return false;
    for (const auto sequence : kSequences) {
        for (const int step : {1, -1}) {
            bool walks = true;
            for (std::size_t i = 1; i < lowered.size() && walks; ++i) {
                const auto previous = sequence.find(lowered[i - 1]);
                const auto current = sequence.find(lowered[i]);
                walks = previous != std::string_view::npos && current != std::string_view::npos &&
                        static_cast<long>(current) - static_cast<long>(previous) == step;
                // Wrapping around the digits ("7890123...") is still a walk.
                if (!walks && sequence.front() == '0' && previous != std::string_view::npos &&
                    current != std::string_view::npos) {
                    walks = step == 1 ? (lowered[i - 1] == '9' && lowered[i] == '0')
                                      : (lowered[i - 1] == '0' && lowered[i] == '9');
                }
            }
            if (walks) return true;
        }
    }
    return false;
}

}  // namespace

PasswordPolicy::PasswordPolicy() {
    auto list = common_password_list();
    while (!list.empty()) {
        const auto end = list.find('\n');
        const auto line = list.substr(0, end);
        if (!line.empty() && !line.starts_with("#!")) common_.insert(ascii_lower(line));
        if (end == std::string_view::npos) break;
        list.remove_prefix(end + 1);
    }
}

bool PasswordPolicy::is_common(std::string_view lowered) const {
    return common_.contains(std::string{lowered});
}

std::optional<std::string> PasswordPolicy::problem(std::string_view password,
                                                   std::string_view username) const {
    const auto length = count_code_points(password);
    if (!length) return "must be valid UTF-8";
    if (*length < kMinCodePoints) return "must be at least 12 characters long";
    if (*length > kMaxCodePoints) return "must be at most 128 characters long";

    const auto lowered = ascii_lower(password);
    constexpr auto kCommon = "is too common: it appears in lists of breached passwords";
    if (is_common(lowered)) return kCommon;

    // Strip digits and symbols around the letters: "!!password1234" -> "password".
    std::string_view core{lowered};
    while (!core.empty() && is_padding(core.front())) core.remove_prefix(1);
    while (!core.empty() && is_padding(core.back())) core.remove_suffix(1);
    const auto period = shortest_period(core);
    const auto unit = core.substr(0, period);
    if (!core.empty() && (is_common(core) || is_common(unit))) return kCommon;

    const auto whole_period = shortest_period(lowered);
    if (whole_period <= 3 || is_sequence_walk(lowered) ||
        is_sequence_walk(std::string_view{lowered}.substr(0, whole_period))) {
        return "is too easy to guess: a repeated character, a sequence or a keyboard row";
    }
    if (username.size() >= 3 && lowered.find(ascii_lower(username)) != std::string::npos) {
        return "must not contain the username";
    }
    return std::nullopt;
}

}  // namespace nexu::domain
