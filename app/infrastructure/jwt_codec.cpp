#include "infrastructure/jwt_codec.hpp"

#include <charconv>

#include <sodium.h>

#include "domain/json_body.hpp"

namespace nexu::infrastructure {

namespace {

constexpr std::size_t kMaxHeaderBytes = 256;
constexpr std::size_t kJsonDepth = 4;  // claims are flat: an object holding a roles array

tl::unexpected<Error> refuse(std::string reason) {
    return fail(Errc::invalid_argument, "token refused: " + std::move(reason));
}

std::string mac(const SecretKey& key, std::string_view signing_input) {
    static_assert(SecretKey::kBytes == crypto_auth_hmacsha256_KEYBYTES);
    std::string out(crypto_auth_hmacsha256_BYTES, '\0');
    crypto_auth_hmacsha256(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size(), key.data());
    return out;
}

Result<std::uint32_t> parse_kid(const nlohmann::json& kid) {
    if (!kid.is_string()) return refuse("kid is not a string");
    const auto& text = kid.get_ref<const std::string&>();
    std::uint32_t version = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (text.empty() || text.size() > 9 || ec != std::errc{} || end != text.data() + text.size() ||
        version == 0) {
        return refuse("kid is not a key version");
    }
    return version;
}

bool is_integer(const nlohmann::json& value) {
    return value.is_number_integer() || value.is_number_unsigned();
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
    const auto variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                      bytes.size(), variant);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

Result<std::string> base64url_decode(std::string_view text) {
    std::string out(text.size() * 3 / 4 + 3, '\0');
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), nullptr, &length, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text.data() + text.size()) {
        return fail(Errc::invalid_argument, "not base64url");
    }
    out.resize(length);
    return out;
}

JwtCodec::JwtCodec(KeyLookup key_for, std::uint32_t current_key_version)
    : key_for_(std::move(key_for)), current_key_version_(current_key_version) {}

std::string JwtCodec::sign(const nlohmann::json& claims) const {
    const nlohmann::json header{
        {"alg", "HS256"}, {"kid", std::to_string(current_key_version_)}, {"typ", "JWT"}};
    // Appended piece by piece: g++ 12 reports a false -Wrestrict on chained operator+.
    std::string token = base64url_encode(header.dump());
    token += '.';
    token += base64url_encode(claims.dump());
    const SecretKey* key = key_for_(current_key_version_);
    const auto signature = base64url_encode(mac(*key, token));
    token += '.';
    token += signature;
    return token;
}

Result<nlohmann::json> JwtCodec::verify(std::string_view token, std::int64_t now_seconds) const {
    if (token.empty() || token.size() > kMaxTokenBytes) return refuse("size");
    const auto first_dot = token.find('.');
    const auto last_dot = token.rfind('.');
    if (first_dot == std::string_view::npos || first_dot == last_dot ||
        token.find('.', first_dot + 1) != last_dot) {
        return refuse("not three parts");
    }
    const auto header_part = token.substr(0, first_dot);
    const auto payload_part = token.substr(first_dot + 1, last_dot - first_dot - 1);
    const auto signature_part = token.substr(last_dot + 1);

    auto header_text = base64url_decode(header_part);
    if (!header_text || header_text->size() > kMaxHeaderBytes) return refuse("header encoding");
    auto header = domain::parse_json(*header_text, kJsonDepth);
    if (!header || !header->is_object()) return refuse("header is not a JSON object");
    // Only our own shape: alg pinned to HS256, typ JWT if present, a kid, nothing else.
    for (const auto& [name, value] : header->items()) {
        if (name != "alg" && name != "typ" && name != "kid") return refuse("header member " + name);
    }
    const auto alg = header->find("alg");
    if (alg == header->end() || !alg->is_string() || *alg != "HS256") return refuse("alg");
    if (const auto typ = header->find("typ"); typ != header->end() && *typ != "JWT") {
        return refuse("typ");
    }
    const auto kid = header->find("kid");
    if (kid == header->end()) return refuse("no kid");
    auto version = parse_kid(*kid);
    if (!version) return tl::make_unexpected(version.error());
    const SecretKey* key = key_for_(*version);
    if (key == nullptr) return refuse("unknown kid");

    auto signature = base64url_decode(signature_part);
    if (!signature || signature->size() != crypto_auth_hmacsha256_BYTES) {
        return refuse("signature encoding");
    }
    const auto signing_input = token.substr(0, last_dot);
    if (crypto_auth_hmacsha256_verify(reinterpret_cast<const unsigned char*>(signature->data()),
                                      reinterpret_cast<const unsigned char*>(signing_input.data()),
                                      signing_input.size(), key->data()) != 0) {
        return refuse("bad signature");
    }

    auto payload_text = base64url_decode(payload_part);
    if (!payload_text) return refuse("payload encoding");
    auto claims = domain::parse_json(*payload_text, kJsonDepth);
    if (!claims || !claims->is_object()) return refuse("payload is not a JSON object");
    const auto exp = claims->find("exp");
    if (exp == claims->end() || !is_integer(*exp)) return refuse("no exp");
    if (exp->get<std::int64_t>() <= now_seconds) return refuse("expired");
    if (const auto nbf = claims->find("nbf"); nbf != claims->end()) {
        if (!is_integer(*nbf) || nbf->get<std::int64_t>() > now_seconds) return refuse("nbf");
    }
    const auto sub = claims->find("sub");
    if (sub == claims->end() || !sub->is_string()) return refuse("no sub");
    return std::move(*claims);
}

}  // namespace nexu::infrastructure
