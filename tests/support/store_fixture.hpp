#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <sodium.h>

#include "faulty_env.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/store.hpp"
#include "temp_dir.hpp"

namespace nexu::testing {

// "d" + 7 → "d7", without operator+ on a temporary (g++ 12 -O3 reports a
// false -Wrestrict there).
inline std::string numbered(std::string_view prefix, std::uint64_t n) {
    std::string out{prefix};
    out += std::to_string(n);
    return out;
}

// A random master key's Crypto (throws in tests only).
inline std::unique_ptr<infrastructure::Crypto> random_crypto() {
    if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
    std::array<unsigned char, infrastructure::SecretKey::kBytes> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    auto crypto = infrastructure::Crypto::create(infrastructure::SecretKey{bytes});
    if (!crypto) throw std::runtime_error(crypto.error().context);
    return std::move(*crypto);
}

// Settings for deterministic tests: no background thread, catch up on every
// read, tiny thresholds so checkpoints are cheap.
inline infrastructure::StoreSettings test_settings() {
    infrastructure::StoreSettings settings;
    settings.cache_bytes = 1024 * 1024;
    settings.sync_interval = std::chrono::milliseconds{0};
    settings.retention_grace = std::chrono::milliseconds{0};
    settings.run_maintenance = false;
    settings.segment_bytes = 4096;
    settings.instance_id = "test";
    return settings;
}

// A data dir, a state dir, a FaultyEnv over the PosixEnv, and a key.
struct StoreFixture {
    TempDir dir;
    infrastructure::PosixEnv posix;
    FaultyEnv env{posix};
    std::unique_ptr<infrastructure::Crypto> crypto = random_crypto();

    std::filesystem::path data_dir() const { return dir.path() / "db"; }
    std::filesystem::path state_dir(int instance = 0) const {
        return dir.path() / ("state" + std::to_string(instance));
    }
    Result<std::unique_ptr<infrastructure::Store>> open(
        infrastructure::StoreSettings settings = test_settings(), int instance = 0) {
        return infrastructure::Store::open(env, data_dir(), state_dir(instance), *crypto, settings);
    }
    std::unique_ptr<infrastructure::Store> open_or_throw(
        infrastructure::StoreSettings settings = test_settings(), int instance = 0) {
        auto store = open(settings, instance);
        if (!store) throw std::runtime_error("open failed: " + store.error().context);
        return std::move(*store);
    }
};

}  // namespace nexu::testing
