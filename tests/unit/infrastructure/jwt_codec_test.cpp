#include "infrastructure/jwt_codec.hpp"

#include <catch2/catch.hpp>
#include <sodium.h>

using namespace nexu::infrastructure;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

SecretKey random_key() {
    REQUIRE(sodium_init() >= 0);
    std::array<unsigned char, SecretKey::kBytes> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    return SecretKey{bytes};
}

struct Keys {
    SecretKey v1 = random_key();
    SecretKey v2 = random_key();
    JwtCodec::KeyLookup lookup() const {
        return [this](std::uint32_t version) -> const SecretKey* {
            return version == 1 ? &v1 : version == 2 ? &v2 : nullptr;
        };
    }
};

json claims(std::int64_t exp = kNow + 900) {
    return {{"sub", "user-1"}, {"iat", kNow}, {"exp", exp}, {"jti", "j1"}, {"roles", {"user"}}};
}

// A token with a header and payload of our choosing, signed with `key` (or unsigned).
std::string forge(const json& header, const json& payload, const SecretKey* key) {
    auto token = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
    std::string signature;
    if (key) {
        std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
        crypto_auth_hmacsha256(reinterpret_cast<unsigned char*>(mac.data()),
                               reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                               key->data());
        signature = base64url_encode(mac);
    }
    return token + "." + signature;
}

}  // namespace

TEST_CASE("a signed token verifies and yields its claims", "[auth]") {
    Keys keys;
    const JwtCodec codec{keys.lookup(), 1};
    const auto token = codec.sign(claims());
    auto verified = codec.verify(token, kNow);
    REQUIRE(verified);
    CHECK((*verified)["sub"] == "user-1");
    CHECK((*verified)["roles"] == json{"user"});
}

TEST_CASE("tokens signed with an older key version still verify after rotation", "[auth]") {
    Keys keys;
    const auto old_token = JwtCodec{keys.lookup(), 1}.sign(claims());
    const JwtCodec rotated{keys.lookup(), 2};
    CHECK(rotated.verify(old_token, kNow));
    CHECK(rotated.verify(rotated.sign(claims()), kNow));
}

TEST_CASE("the JWT rejection matrix", "[auth]") {
    Keys keys;
    const JwtCodec codec{keys.lookup(), 1};
    const auto good = codec.sign(claims());
    const auto dot1 = good.find('.');
    const auto dot2 = good.rfind('.');
    const json header{{"alg", "HS256"}, {"kid", "1"}, {"typ", "JWT"}};
    const auto other_key = random_key();

    std::vector<std::pair<std::string, std::string>> bad{
        {"alg none", forge({{"alg", "none"}, {"kid", "1"}}, claims(), nullptr)},
        {"alg None", forge({{"alg", "None"}, {"kid", "1"}}, claims(), nullptr)},
        {"alg NONE", forge({{"alg", "NONE"}, {"kid", "1"}}, claims(), nullptr)},
        {"alg none signed", forge({{"alg", "none"}, {"kid", "1"}}, claims(), &keys.v1)},
        {"HS384", forge({{"alg", "HS384"}, {"kid", "1"}}, claims(), &keys.v1)},
        {"HS512", forge({{"alg", "HS512"}, {"kid", "1"}}, claims(), &keys.v1)},
        {"RS256", forge({{"alg", "RS256"}, {"kid", "1"}}, claims(), &keys.v1)},
        {"ES256", forge({{"alg", "ES256"}, {"kid", "1"}}, claims(), &keys.v1)},
        {"wrong key", forge(header, claims(), &other_key)},
        {"signature removed", good.substr(0, dot2 + 1)},
        {"signature altered", good.substr(0, good.size() - 2) + (good.back() == 'A' ? "BB" : "AA")},
        {"payload altered", good.substr(0, dot1 + 1) +
                                base64url_encode(claims().dump().replace(8, 6, "user-2")) +
                                good.substr(dot2)},
        {"header altered",
         base64url_encode(json{{"alg", "HS256"}, {"kid", "1"}, {"typ", "JWS"}}.dump()) +
             good.substr(dot1)},
        {"expired", forge(header, claims(kNow - 1), &keys.v1)},
        {"expires now", forge(header, claims(kNow), &keys.v1)},
        {"missing exp", forge(header, json{{"sub", "user-1"}}, &keys.v1)},
        {"exp as string", forge(header, json{{"sub", "u"}, {"exp", "9999999999"}}, &keys.v1)},
        {"nbf in the future",
         forge(header, json{{"sub", "u"}, {"exp", kNow + 60}, {"nbf", kNow + 30}}, &keys.v1)},
        {"missing sub", forge(header, json{{"exp", kNow + 60}}, &keys.v1)},
        {"unknown kid", forge({{"alg", "HS256"}, {"kid", "7"}}, claims(), &keys.v1)},
        {"kid with a path", forge({{"alg", "HS256"}, {"kid", "../../1"}}, claims(), &keys.v1)},
        {"kid with a quote", forge({{"alg", "HS256"}, {"kid", "1'"}}, claims(), &keys.v1)},
        {"kid as number", forge({{"alg", "HS256"}, {"kid", 1}}, claims(), &keys.v1)},
        {"no kid", forge({{"alg", "HS256"}}, claims(), &keys.v1)},
        {"extra header member",
         forge({{"alg", "HS256"}, {"kid", "1"}, {"jku", "http://x"}}, claims(), &keys.v1)},
        {"payload not an object", forge(header, json::array({1}), &keys.v1)},
        {"two parts", good.substr(0, dot2)},
        {"four parts", good + ".x"},
        {"oversized", good + std::string(5000, 'A')},
        {"empty", ""},
        {"garbage", "not.a.token"},
    };
    for (const auto& [name, token] : bad) {
        INFO(name);
        auto verified = codec.verify(token, kNow);
        REQUIRE_FALSE(verified);
        CHECK(verified.error().code == nexu::Errc::invalid_argument);
        if (!token.empty()) CHECK(verified.error().context.find(token) == std::string::npos);
    }
}
