#include "infrastructure/key_versions.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace nexu::infrastructure {

namespace {

constexpr std::string_view kVersionPrefix = "version-";
constexpr std::string_view kRetiredPrefix = "retired-";
constexpr std::size_t kDigits = 8;

std::string marker_name(std::string_view prefix, std::uint32_t version) {
    std::string digits = std::to_string(version);
    std::string name{prefix};
    if (digits.size() < kDigits) name.append(kDigits - digits.size(), '0');
    name += digits;
    return name;
}

// "nexu key <what> <version>\n<mac>\n": readable by an operator, forgeable by nobody.
std::string marker_body(const Crypto& crypto, std::string_view what, std::uint32_t version) {
    std::string statement = "nexu key ";
    statement += what;
    statement += ' ';
    statement += std::to_string(version);
    std::string body = statement;
    body += '\n';
    body += crypto.keyed_hash(KeyPurpose::lookups, statement);
    body += '\n';
    return body;
}

std::optional<std::uint32_t> parse_version(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix) || name.size() != prefix.size() + kDigits) return std::nullopt;
    std::uint32_t value = 0;
    const auto digits = name.substr(prefix.size());
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    if (value == 0 || value > Crypto::kMaxKeyVersion) return std::nullopt;
    return value;
}

Result<void> create_marker(Env& env,
                           const std::filesystem::path& data_dir,
                           const std::string& name,
                           const std::string& body) {
    const auto dir = data_dir / kKeysDirName;
    if (auto made = env.make_dir(dir); !made) return made;
    if (auto synced = env.sync_dir(data_dir); !synced) return synced;
    if (auto created = create_durable(env, dir, name, body, "keys"); !created) return created;
    return env.sync_dir(dir);
}

}  // namespace

bool KeyVersions::is_retired(std::uint32_t version) const {
    return std::binary_search(retired.begin(), retired.end(), version);
}

bool KeyVersions::has_unretired_older() const {
    for (std::uint32_t v = 1; v < current; ++v) {
        if (!is_retired(v)) return true;
    }
    return false;
}

Result<KeyVersions> read_key_versions(Env& env,
                                      const std::filesystem::path& data_dir,
                                      const Crypto& crypto) {
    KeyVersions versions;
    const auto dir = data_dir / kKeysDirName;
    auto names = env.list_dir(dir);
    if (!names) {
        if (names.error().code == Errc::not_found) return versions;
        return tl::make_unexpected(names.error());
    }
    for (const auto& name : *names) {
        const auto current = parse_version(name, kVersionPrefix);
        const auto retired = parse_version(name, kRetiredPrefix);
        if (!current && !retired) continue;
        auto body = env.read_file(dir / name);
        if (!body) {
            if (body.error().code == Errc::not_found) continue;  // a temp name that just went
            return tl::make_unexpected(body.error());
        }
        if (current) {
            if (*body != marker_body(crypto, "version", *current)) {
                ++versions.invalid_markers;
                continue;
            }
            versions.current = std::max(versions.current, *current);
        } else {
            if (*body != marker_body(crypto, "retired", *retired)) {
                ++versions.invalid_markers;
                continue;
            }
            versions.retired.push_back(*retired);
        }
    }
    std::sort(versions.retired.begin(), versions.retired.end());
    // A retired marker at or above the current version cannot be honoured.
    std::erase_if(versions.retired, [&](std::uint32_t v) { return v >= versions.current; });
    return versions;
}

Result<KeyVersions> apply_key_versions(Env& env,
                                       const std::filesystem::path& data_dir,
                                       const Crypto& crypto) {
    auto versions = read_key_versions(env, data_dir, crypto);
    if (!versions) return versions;
    if (versions->current > crypto.current_key_id()) {
        if (auto set = crypto.set_current_key_id(versions->current); !set)
            return tl::make_unexpected(set.error());
    }
    for (const auto retired : versions->retired) {
        if (retired < crypto.current_key_id()) (void)crypto.retire_key_id(retired);
    }
    return versions;
}

Result<std::uint32_t> create_key_version(Env& env,
                                         const std::filesystem::path& data_dir,
                                         const Crypto& crypto) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        auto versions = apply_key_versions(env, data_dir, crypto);
        if (!versions) return tl::make_unexpected(versions.error());
        const auto next = std::max(versions->current, crypto.current_key_id()) + 1;
        if (next > Crypto::kMaxKeyVersion)
            return fail(Errc::invalid_argument, "no key versions left");
        auto created = create_marker(env, data_dir, marker_name(kVersionPrefix, next),
                                     marker_body(crypto, "version", next));
        if (!created) {
            if (created.error().code == Errc::conflict) continue;  // a racing rotation
            return tl::make_unexpected(created.error());
        }
        if (auto set = crypto.set_current_key_id(next); !set)
            return tl::make_unexpected(set.error());
        return next;
    }
    return fail(Errc::unavailable, "lost the key version race too often");
}

Result<void> record_retired_key_version(Env& env,
                                        const std::filesystem::path& data_dir,
                                        const Crypto& crypto,
                                        std::uint32_t version) {
    if (version == 0 || version >= crypto.current_key_id())
        return fail(Errc::invalid_argument, "only a version older than the current one retires");
    auto created = create_marker(env, data_dir, marker_name(kRetiredPrefix, version),
                                 marker_body(crypto, "retired", version));
    if (!created && created.error().code != Errc::conflict) return created;
    return crypto.retire_key_id(version);
}

}  // namespace nexu::infrastructure
