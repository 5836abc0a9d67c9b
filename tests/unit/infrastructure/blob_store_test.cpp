#include "infrastructure/blob_store.hpp"

#include <fstream>

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using namespace nexu::infrastructure;

namespace {

// Small chunks so boundaries are cheap to reach: 16-byte chunks, 3 per segment.
BlobSettings tiny_settings() {
    BlobSettings settings;
    settings.chunk_bytes = 16;
    settings.chunks_per_segment = 3;
    settings.retire_grace = std::chrono::milliseconds{0};
    settings.temp_grace = std::chrono::milliseconds{0};
    return settings;
}

std::string pattern_bytes(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    std::string out;
    for (const auto byte : digest) {
        static constexpr char kDigits[] = "0123456789abcdef";
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
    }
    return out;
}

// Writes `content` in pieces of `piece` bytes and commits.
StoredBlob store_blob(const BlobStore& blobs, std::string_view content, std::size_t piece) {
    auto writer = blobs.create();
    REQUIRE(writer);
    for (std::size_t at = 0; at < content.size(); at += piece) {
        REQUIRE(writer->write(content.substr(at, piece)));
    }
    auto stored = writer->commit();
    REQUIRE(stored);
    return *stored;
}

Result<std::string> read_range(const BlobStore& blobs,
                               const StoredBlob& blob,
                               std::uint64_t offset,
                               std::uint64_t length) {
    auto reader = blobs.open_range(blob.name, blob.size_bytes, offset, length);
    if (!reader) return tl::make_unexpected(reader.error());
    std::string out;
    while (true) {
        auto piece = reader->next();
        if (!piece) return tl::make_unexpected(piece.error());
        if (piece->empty()) return out;
        out += *piece;
    }
}

std::string read_file_bytes(const std::filesystem::path& path) {
    std::ifstream in{path, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_file_bytes(const std::filesystem::path& path, std::string_view bytes) {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("blobs of every size around chunk and segment boundaries round trip", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    auto blobs = BlobStore::open(default_env(), dir.path(), *crypto, tiny_settings());
    REQUIRE(blobs);
    for (const std::size_t size : {0u, 1u, 15u, 16u, 17u, 47u, 48u, 49u, 96u, 97u, 200u}) {
        for (const std::size_t piece : {1u, 5u, 16u, 64u}) {
            const auto content = pattern_bytes(size);
            const auto blob = store_blob(**blobs, content, piece);
            CHECK(blob.size_bytes == size);
            CHECK(blob.sha256_hex == sha256_hex(content));
            CHECK(read_range(**blobs, blob, 0, size).value() == content);
        }
    }
}

TEST_CASE("a blob holds no plaintext and gets a fresh name per upload", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    auto blobs = BlobStore::open(default_env(), dir.path(), *crypto, tiny_settings()).value();
    const std::string content = "a secret sentence that must not appear on disk in clear";
    const auto first = store_blob(*blobs, content, 7);
    const auto second = store_blob(*blobs, content, 7);
    CHECK(first.name != second.name);
    CHECK(BlobStore::is_valid_blob_name(first.name));
    const auto on_disk = read_file_bytes(blobs->path_of(first.name));
    CHECK(on_disk.find("secret") == std::string::npos);
    CHECK(read_file_bytes(blobs->path_of(second.name)) != on_disk);
    // The directory holds the two blobs and no temp file.
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
        if (entry.is_regular_file()) {
            ++files;
            CHECK_FALSE(is_temp_name(entry.path().filename().string()));
        }
    }
    CHECK(files == 2);
}

TEST_CASE("range reads at chunk and segment boundaries return exactly the bytes asked", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    auto blobs = BlobStore::open(default_env(), dir.path(), *crypto, tiny_settings()).value();
    const auto content = pattern_bytes(100);  // 7 chunks: segments of 48, 48 and 4 bytes
    const auto blob = store_blob(*blobs, content, 33);
    for (std::uint64_t offset : {0u, 1u, 15u, 16u, 17u, 47u, 48u, 49u, 95u, 96u, 99u}) {
        for (std::uint64_t length : {1u, 2u, 16u, 17u, 33u, 48u, 100u}) {
            if (offset + length > content.size()) continue;
            INFO("offset " << offset << " length " << length);
            CHECK(read_range(*blobs, blob, offset, length).value() ==
                  content.substr(offset, length));
        }
    }
    CHECK(read_range(*blobs, blob, 100, 0).value().empty());
    CHECK(blobs->open_range(blob.name, 100, 99, 2).error().code == Errc::invalid_argument);
}

TEST_CASE("a flipped byte anywhere in a blob is detected", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    auto blobs = BlobStore::open(default_env(), dir.path(), *crypto, tiny_settings()).value();
    const auto content = pattern_bytes(60);
    const auto blob = store_blob(*blobs, content, 60);
    const auto path = blobs->path_of(blob.name);
    const auto original = read_file_bytes(path);
    for (std::size_t at = 0; at < original.size(); ++at) {
        auto damaged = original;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
        write_file_bytes(path, damaged);
        INFO("byte " << at);
        CHECK_FALSE(read_range(*blobs, blob, 0, content.size()));
    }
    write_file_bytes(path, original);
    CHECK(read_range(*blobs, blob, 0, content.size()).value() == content);
}

TEST_CASE("a truncated or swapped blob is detected", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    auto blobs = BlobStore::open(default_env(), dir.path(), *crypto, tiny_settings()).value();
    const auto content = pattern_bytes(96);  // exactly 2 full segments
    const auto blob = store_blob(*blobs, content, 10);
    const auto path = blobs->path_of(blob.name);
    const auto original = read_file_bytes(path);

    SECTION("cut anywhere, the size check refuses it before any byte is returned") {
        for (std::size_t length = 0; length < original.size(); ++length) {
            write_file_bytes(path, original.substr(0, length));
            CHECK(blobs->open_range(blob.name, blob.size_bytes, 0, 1).error().code ==
                  Errc::corrupt_object);
        }
    }
    SECTION("a whole trailing segment cut, with metadata claiming the shorter size") {
        // 48 bytes = one full segment whose last chunk lacks the final tag.
        const auto segment_bytes = 16 + 24 + 3 * (16 + 17);
        write_file_bytes(path, original.substr(0, segment_bytes));
        const auto reader = read_range(*blobs, StoredBlob{blob.name, 48, {}}, 0, 48);
        REQUIRE_FALSE(reader);
        CHECK(reader.error().code == Errc::corrupt_object);
    }
    SECTION("another blob's bytes under this name do not authenticate") {
        const auto other = store_blob(*blobs, pattern_bytes(96), 96);
        write_file_bytes(path, read_file_bytes(blobs->path_of(other.name)));
        CHECK(read_range(*blobs, blob, 0, 96).error().code == Errc::corrupt_object);
    }
    SECTION("another key cannot read it") {
        auto other_crypto = testing::random_crypto();
        auto other = BlobStore::open(default_env(), dir.path(), *other_crypto, tiny_settings());
        CHECK(read_range(**other, blob, 0, 96).error().code == Errc::corrupt_object);
    }
}

TEST_CASE("an upload that is never committed leaves nothing behind", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    auto blobs = BlobStore::open(default_env(), dir.path(), *crypto, tiny_settings()).value();
    {
        auto writer = blobs->create().value();
        REQUIRE(writer.write(pattern_bytes(100)));
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
        CHECK_FALSE(entry.is_regular_file());
    }
}

TEST_CASE("a failed fsync fails the commit and removes the temp file", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    testing::FaultyEnv env{default_env()};
    auto blobs = BlobStore::open(env, dir.path(), *crypto, tiny_settings()).value();
    auto writer = blobs->create().value();
    REQUIRE(writer.write("some bytes"));
    env.fail_next(testing::EnvOp::sync, EIO);
    CHECK(writer.commit().error().code == Errc::io_error);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
        CHECK_FALSE(entry.is_regular_file());
    }
}

TEST_CASE("retired blobs are removed by garbage collection after their grace", "[blob]") {
    testing::TempDir dir;
    auto crypto = testing::random_crypto();
    auto settings = tiny_settings();
    settings.retire_grace = std::chrono::hours{1};
    auto patient = BlobStore::open(default_env(), dir.path(), *crypto, settings).value();
    auto eager = BlobStore::open(default_env(), dir.path(), *crypto, tiny_settings()).value();
    const auto kept = store_blob(*patient, "kept", 4);
    const auto old = store_blob(*patient, "old", 4);
    REQUIRE(patient->retire(old.name));
    CHECK(patient->collect_garbage().value() == 0);  // within the grace period
    CHECK(std::filesystem::exists(patient->path_of(old.name)));
    CHECK(eager->collect_garbage().value() == 1);
    CHECK_FALSE(std::filesystem::exists(patient->path_of(old.name)));
    CHECK(read_range(*patient, kept, 0, 4).value() == "kept");
    CHECK(eager->collect_garbage().value() == 0);  // the marker went too
}
