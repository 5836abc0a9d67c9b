#include "infrastructure/password_hasher.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <catch2/catch.hpp>
#include <sodium.h>

using namespace nexu::infrastructure;

namespace {
// The cheapest parameters libsodium allows: the tests are about behaviour, not cost.
PasswordHasher::Settings fast(std::size_t max_waiting = 64) {
    return {1, max_waiting, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}
}  // namespace

TEST_CASE("a hashed password verifies, a wrong one does not", "[auth]") {
    PasswordHasher hasher{fast()};
    std::promise<nexu::Result<std::string>> hashed;
    REQUIRE(hasher.hash("correct horse battery", [&](auto result) { hashed.set_value(result); }));
    const auto hash = hashed.get_future().get();
    REQUIRE(hash);
    CHECK(hash->rfind("$argon2id$", 0) == 0);
    CHECK(hash->find("correct horse") == std::string::npos);

    std::promise<bool> right, wrong;
    REQUIRE(hasher.verify(*hash, "correct horse battery", [&](bool ok) { right.set_value(ok); }));
    REQUIRE(hasher.verify(*hash, "correct horse batterY", [&](bool ok) { wrong.set_value(ok); }));
    CHECK(right.get_future().get());
    CHECK_FALSE(wrong.get_future().get());
}

TEST_CASE("an unknown user (no hash) never verifies, whatever the password", "[auth]") {
    PasswordHasher hasher{fast()};
    CHECK_FALSE(hasher.verify_now("", ""));
    CHECK_FALSE(hasher.verify_now("", "anything at all"));
    CHECK_FALSE(hasher.verify_now("not a hash", "anything at all"));
}

TEST_CASE("passwords are compared exactly: no truncation, no normalisation", "[auth]") {
    PasswordHasher hasher{fast()};
    const std::string long_password(128 * 4, 'x');  // 128 four-byte characters' worth of bytes
    const auto hash = hasher.hash_now(long_password);
    REQUIRE(hash);
    CHECK_FALSE(hasher.verify_now(*hash, long_password.substr(0, long_password.size() - 1)));
    const auto composed = hasher.hash_now("caf\xc3\xa9 au lait!!");  // é precomposed
    REQUIRE(composed);
    CHECK_FALSE(hasher.verify_now(*composed, "cafe\xcc\x81 au lait!!"));  // e + combining accent
}

TEST_CASE("past the waiting limit, submissions are refused", "[auth]") {
    // Declared before the hasher, so they outlive the jobs it is still running.
    std::promise<void> release;
    auto gate = release.get_future().share();
    std::atomic<int> finished{0};
    PasswordHasher hasher{fast(2)};
    // The first job blocks the only thread; two more fill the queue.
    REQUIRE(hasher.verify("", "a", [&, gate](bool) {
        gate.wait();
        ++finished;
    }));
    while (hasher.waiting() != 0) std::this_thread::yield();
    REQUIRE(hasher.verify("", "b", [&](bool) { ++finished; }));
    REQUIRE(hasher.verify("", "c", [&](bool) { ++finished; }));
    CHECK_FALSE(hasher.verify("", "d", [&](bool) { ++finished; }));
    release.set_value();
}

TEST_CASE("hashes made with other parameters need a rehash", "[auth]") {
    PasswordHasher cheap{fast()};
    const auto hash = cheap.hash_now("a password long enough");
    REQUIRE(hash);
    CHECK_FALSE(cheap.needs_rehash(*hash));
    PasswordHasher stronger{{1, 4, crypto_pwhash_OPSLIMIT_MIN + 1, crypto_pwhash_MEMLIMIT_MIN}};
    CHECK(stronger.needs_rehash(*hash));
}
