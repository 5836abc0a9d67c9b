#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "domain/error.hpp"
#include "infrastructure/secret_key.hpp"

namespace nexu::infrastructure {

// Compact JWS tokens signed HS256 (RFC 7515/7519), with the key version in
// `kid` so keys can rotate. The algorithm is pinned: a header naming any
// other `alg` (none, HS384, RS256, ...), an unknown or malformed `kid`, a bad
// signature, a missing or past `exp`, a future `nbf` are all refused alike.
// Thread-safe (const); keys come from `key_for`, which returns nullptr for an
// unknown version.
class JwtCodec {
public:
    using KeyLookup = std::function<const SecretKey*(std::uint32_t key_version)>;
    static constexpr std::size_t kMaxTokenBytes = 4096;

    JwtCodec(KeyLookup key_for, std::uint32_t current_key_version);

    // Signs `claims` (an object) with the current key.
    std::string sign(const nlohmann::json& claims) const;

    // The verified claims, or Errc::invalid_argument with the reason in the
    // context (for the log; the token itself is never put there).
    Result<nlohmann::json> verify(std::string_view token, std::int64_t now_seconds) const;

private:
    KeyLookup key_for_;
    std::uint32_t current_key_version_;
};

// base64url without padding (RFC 4648 §5), as JWS uses it.
std::string base64url_encode(std::string_view bytes);
Result<std::string> base64url_decode(std::string_view text);

}  // namespace nexu::infrastructure
