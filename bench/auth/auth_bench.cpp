// Account benchmarks: the cost of checking an access token (JwtCodec::verify
// alone, and AccountService::authenticate with its user and session state
// cached, which is what every authenticated request pays) and of one Argon2id
// hash at the given parameters. Prints a Markdown table for BENCHMARKS.md.
// Usage: auth_bench DIR [OPSLIMIT MEMLIMIT_BYTES]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "infrastructure/crypto.hpp"
#include "infrastructure/jwt_codec.hpp"
#include "infrastructure/password_hasher.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/store.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/account_service.hpp"
#include "repositories/document_repository.hpp"

using namespace nexu;
using Clock = std::chrono::steady_clock;

namespace {

template <class Work>
double median_ns_per_call(int rounds, int calls, Work work) {
    std::vector<double> per_call;
    for (int round = 0; round < rounds; ++round) {
        const auto started = Clock::now();
        for (int i = 0; i < calls; ++i) work();
        const std::chrono::duration<double, std::nano> elapsed = Clock::now() - started;
        per_call.push_back(elapsed.count() / calls);
    }
    std::sort(per_call.begin(), per_call.end());
    return per_call[per_call.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: auth_bench DIR [OPSLIMIT MEMLIMIT_BYTES]\n");
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);
    if (sodium_init() < 0) return 1;
    const std::filesystem::path dir = argv[1];
    infrastructure::PasswordHasher::Settings hashing{1, 64};
    if (argc >= 4) {
        hashing.opslimit = std::stoull(argv[2]);
        hashing.memlimit_bytes = std::stoull(argv[3]);
    }

    std::array<unsigned char, infrastructure::SecretKey::kBytes> key_bytes{};
    randombytes_buf(key_bytes.data(), key_bytes.size());
    auto crypto = std::move(*infrastructure::Crypto::create(infrastructure::SecretKey{key_bytes}));
    auto& env = infrastructure::default_env();
    infrastructure::StoreSettings settings;
    settings.run_maintenance = false;
    std::filesystem::create_directories(dir / "db");
    std::filesystem::create_directories(dir / "state");
    auto store = infrastructure::Store::open(env, dir / "db", dir / "state", *crypto, settings);
    if (!store) {
        std::fprintf(stderr, "auth_bench: %s\n", store.error().context.c_str());
        return 1;
    }
    repositories::DocumentRepository documents{**store};
    infrastructure::UuidV7Generator ids;
    repositories::UserRepository users{documents, *crypto};
    repositories::RoleRepository roles{documents};
    repositories::SessionRepository sessions{documents, *crypto, ids, std::chrono::hours{24}};
    infrastructure::PasswordHasher hasher{hashing};
    const infrastructure::JwtCodec tokens{
        [&crypto](std::uint32_t v) { return crypto->subkey(infrastructure::KeyPurpose::tokens, v); }, 1};
    repositories::AccountService accounts{users, roles, sessions, hasher, tokens, ids,
                                          [](std::function<void()> work) { work(); }, {}};

    // One Argon2id hash at these parameters: the floor of a login's cost.
    std::vector<double> hash_ms;
    for (int i = 0; i < 7; ++i) {
        const auto started = Clock::now();
        (void)hasher.hash_now("a benchmark passphrase");
        hash_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    }
    std::sort(hash_ms.begin(), hash_ms.end());

    auto user = accounts.create_user_now({"bench-user", "a benchmark passphrase", "", "", {"user"}});
    if (!user) {
        std::fprintf(stderr, "auth_bench: %s\n", user.error().context.c_str());
        return 1;
    }
    auto session = sessions.open(user->id, std::chrono::system_clock::now()).value();
    const auto now = std::chrono::system_clock::now();
    const auto token = tokens.sign({{"sub", user->id},
                                    {"sid", session.session_id},
                                    {"iat", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()},
                                    {"exp", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 900},
                                    {"jti", "bench"},
                                    {"roles", {"user"}}});
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto verify_ns = median_ns_per_call(7, 200'000, [&] {
        if (!tokens.verify(token, now_s)) std::abort();
    });
    const auto authenticate_ns = median_ns_per_call(7, 200'000, [&] {
        if (!accounts.authenticate(token)) std::abort();
    });

    std::printf("| measure | median | target |\n|---|---|---|\n");
    std::printf("| JwtCodec::verify (HMAC-SHA256 + claims) | %.2f µs | |\n", verify_ns / 1000);
    std::printf("| AccountService::authenticate, state cached (per request) | %.2f µs | < 2 µs |\n",
                authenticate_ns / 1000);
    std::printf("| Argon2id hash, opslimit %llu, memlimit %zu MiB | %.1f ms | |\n", hashing.opslimit,
                hashing.memlimit_bytes / (1024 * 1024), hash_ms[hash_ms.size() / 2]);
    std::printf("| logins/s per hashing thread (1000 / hash ms) | %.0f | |\n",
                1000.0 / hash_ms[hash_ms.size() / 2]);
    return 0;
}
