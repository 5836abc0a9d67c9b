#include "infrastructure/crypto.hpp"

#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <sys/stat.h>

#include "support/store_fixture.hpp"

using namespace nexu;
using namespace nexu::infrastructure;

TEST_CASE("sealed objects open only with the same identity and purpose", "[crypto]") {
    auto crypto = testing::random_crypto();
    auto sealed = crypto->seal(KeyPurpose::documents, 1, "secret body", "coll|id|rev1");
    REQUIRE(sealed);
    CHECK(sealed->find("secret body") == std::string::npos);
    CHECK(crypto->open(KeyPurpose::documents, 1, *sealed, "coll|id|rev1").value() == "secret body");
    CHECK(crypto->open(KeyPurpose::documents, 1, *sealed, "coll|id|rev2").error().code ==
          Errc::corrupt_object);
    CHECK(crypto->open(KeyPurpose::tokens, 1, *sealed, "coll|id|rev1").error().code ==
          Errc::corrupt_object);
    CHECK(crypto->open(KeyPurpose::documents, 7, *sealed, "coll|id|rev1").error().code ==
          Errc::corrupt_object);
}

TEST_CASE("every flipped bit and every truncation of a sealed object is rejected", "[crypto]") {
    auto crypto = testing::random_crypto();
    const auto sealed = crypto->seal(KeyPurpose::documents, 1, "payload", "ad").value();
    for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
        auto damaged = sealed;
        damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
        CHECK_FALSE(crypto->open(KeyPurpose::documents, 1, damaged, "ad"));
    }
    for (std::size_t length = 0; length < sealed.size(); ++length) {
        CHECK_FALSE(crypto->open(KeyPurpose::documents, 1, sealed.substr(0, length), "ad"));
    }
}

TEST_CASE("two keys never open each other's objects", "[crypto]") {
    auto first = testing::random_crypto();
    auto second = testing::random_crypto();
    const auto sealed = first->seal(KeyPurpose::files, 1, "x", "ad").value();
    CHECK(second->open(KeyPurpose::files, 1, sealed, "ad").error().code == Errc::corrupt_object);
}

TEST_CASE("key versions derive distinct subkeys and old versions stay readable", "[crypto]") {
    std::array<unsigned char, SecretKey::kBytes> bytes{};
    bytes.fill(7);
    auto v1 = Crypto::create(SecretKey{bytes}, 1).value();
    auto v2 = Crypto::create(SecretKey{bytes}, 2).value();
    CHECK(v2->current_key_id() == 2);
    const auto old = v1->seal(KeyPurpose::documents, 1, "old", "ad").value();
    CHECK(v2->open(KeyPurpose::documents, 1, old, "ad").value() == "old");
    const auto fresh = v2->seal(KeyPurpose::documents, 2, "new", "ad").value();
    CHECK_FALSE(v2->open(KeyPurpose::documents, 1, fresh, "ad"));
    CHECK(std::memcmp(v2->subkey(KeyPurpose::documents, 1)->data(),
                      v2->subkey(KeyPurpose::documents, 2)->data(), SecretKey::kBytes) != 0);
}

TEST_CASE("a stream opens chunk by chunk and a missing final chunk is truncation", "[crypto]") {
    auto crypto = testing::random_crypto();
    auto sealer = StreamSealer::start(*crypto, KeyPurpose::files, 1, "file:a.txt").value();
    const auto header = sealer.header();
    const std::vector<std::string> chunks{sealer.push("one ", false), sealer.push("two ", false),
                                          sealer.push("three", true)};

    auto opener = StreamOpener::start(*crypto, KeyPurpose::files, 1, header, "file:a.txt").value();
    std::string plain;
    for (const auto& chunk : chunks) plain += opener.pull(chunk).value();
    CHECK(plain == "one two three");
    CHECK(opener.finish());

    auto cut = StreamOpener::start(*crypto, KeyPurpose::files, 1, header, "file:a.txt").value();
    REQUIRE(cut.pull(chunks[0]));
    REQUIRE(cut.pull(chunks[1]));
    CHECK(cut.finish().error().code == Errc::corrupt_object);

    auto swapped = StreamOpener::start(*crypto, KeyPurpose::files, 1, header, "file:a.txt").value();
    CHECK_FALSE(swapped.pull(chunks[1]));

    auto other = StreamOpener::start(*crypto, KeyPurpose::files, 1, header, "file:b.txt").value();
    CHECK_FALSE(other.pull(chunks[0]));
}

TEST_CASE("creating a Crypto disables core dumps", "[crypto]") {
    auto crypto = testing::random_crypto();
    struct rlimit limit {};
    REQUIRE(getrlimit(RLIMIT_CORE, &limit) == 0);
    CHECK(limit.rlim_cur == 0);
}

TEST_CASE("Crypto from a key file refuses what load_master_key refuses, naming the setting",
          "[crypto]") {
    testing::TempDir dir;
    const auto path = dir.path() / "master.key";
    CHECK(Crypto::from_key_file(path).error().context.find("NEXU_KEY_FILE") != std::string::npos);
    std::ofstream{path} << std::string(64, 'a') << "\n";
    ::chmod(path.c_str(), 0644);
    const auto readable = Crypto::from_key_file(path);
    CHECK(readable.error().code == Errc::invalid_argument);
    CHECK(readable.error().context.find("NEXU_KEY_FILE") != std::string::npos);
    ::chmod(path.c_str(), 0600);
    auto crypto = Crypto::from_key_file(path);
    REQUIRE(crypto);
    CHECK((*crypto)->current_key_id() == 1);
}
