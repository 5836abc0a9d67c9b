#include "repositories/key_rotation.hpp"

#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "infrastructure/key_versions.hpp"
#include "infrastructure/storage_format.hpp"
#include "ops_fixture.hpp"

using namespace nexu;
namespace fs = std::filesystem;
namespace sf = infrastructure::storage_format;
using infrastructure::KeyPurpose;

namespace {

std::uint32_t key_id_of_file(const fs::path& path) {
    std::ifstream in{path, std::ios::binary};
    std::string head(8, '\0');
    in.read(head.data(), 8);
    return sf::stored_key_id(head);
}

fs::path newest_commit_file(const fs::path& log_dir) {
    fs::path newest;
    for (const auto& entry : fs::directory_iterator(log_dir)) {
        const auto name = entry.path().filename().string();
        if (sf::parse_file_name(name) && (newest.empty() || name > newest.filename().string()))
            newest = entry.path();
    }
    return newest;
}

}  // namespace

TEST_CASE("Crypto: the current version moves forward at runtime and retired versions are refused",
          "[key-rotation]") {
    auto crypto = testing::random_crypto();
    CHECK(crypto->current_key_id() == 1);
    auto sealed_v1 = crypto->seal(KeyPurpose::documents, 1, "secret", "ad").value();
    // A version another instance made current is readable before we switch.
    auto sealed_v2 = crypto->seal(KeyPurpose::documents, 2, "two", "ad").value();
    CHECK(crypto->open(KeyPurpose::documents, 2, sealed_v2, "ad").value() == "two");
    // Tokens only under versions up to the current one ("unknown kid" otherwise).
    CHECK(crypto->subkey(KeyPurpose::tokens, 2) == nullptr);
    REQUIRE(crypto->set_current_key_id(2));
    CHECK(crypto->current_key_id() == 2);
    CHECK(crypto->subkey(KeyPurpose::tokens, 2) != nullptr);
    REQUIRE(crypto->set_current_key_id(1));  // never backwards
    CHECK(crypto->current_key_id() == 2);
    CHECK_FALSE(crypto->retire_key_id(2));  // the current one cannot retire
    const auto lookup = crypto->keyed_hash(KeyPurpose::lookups, "alice");
    REQUIRE(crypto->retire_key_id(1));
    CHECK(crypto->is_retired(KeyPurpose::documents, 1));
    CHECK(crypto->open(KeyPurpose::documents, 1, sealed_v1, "ad").error().code ==
          Errc::corrupt_object);
    CHECK_FALSE(crypto->seal(KeyPurpose::files, 1, "x", "ad"));
    CHECK(crypto->subkey(KeyPurpose::manifests, 1) == nullptr);
    // Tokens and lookup names are not stored objects: they keep version 1.
    CHECK(crypto->subkey(KeyPurpose::tokens, 1) != nullptr);
    CHECK(crypto->keyed_hash(KeyPurpose::lookups, "alice") == lookup);
    CHECK_FALSE(crypto->set_current_key_id(infrastructure::Crypto::kMaxKeyVersion + 1));
}

TEST_CASE("Crypto: concurrent readers while the version changes", "[key-rotation]") {
    auto crypto = testing::random_crypto();
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint32_t i = 0; i < 200; ++i) {
                const auto version = 1 + (i + static_cast<std::uint32_t>(t)) % 20;
                auto sealed = crypto->seal(KeyPurpose::documents, version, "x", "ad");
                if (!sealed ||
                    crypto->open(KeyPurpose::documents, version, *sealed, "ad").value_or("") != "x")
                    failed = true;
            }
        });
    }
    for (std::uint32_t v = 2; v <= 20; ++v) REQUIRE(crypto->set_current_key_id(v));
    for (auto& thread : threads) thread.join();
    CHECK_FALSE(failed);
    CHECK(crypto->current_key_id() == 20);
}

TEST_CASE("key version markers: created exclusively, MACed, applied by a store at open",
          "[key-rotation]") {
    testing::StoreFixture f;
    std::array<unsigned char, infrastructure::SecretKey::kBytes> master{};
    randombytes_buf(master.data(), master.size());
    f.crypto = infrastructure::Crypto::create(infrastructure::SecretKey{master}).value();
    {
        auto store = f.open_or_throw();
        REQUIRE(store->put("notes", "a", "{}"));
    }
    auto rotated = infrastructure::create_key_version(f.env, f.data_dir(), *f.crypto);
    REQUIRE(rotated);
    CHECK(*rotated == 2);
    CHECK(fs::exists(f.data_dir() / "keys" / "version-00000002"));
    // A process with another master key cannot read (or forge) the marker.
    auto other_key = testing::random_crypto();
    auto versions = infrastructure::read_key_versions(f.env, f.data_dir(), *other_key).value();
    CHECK(versions.current == 1);
    CHECK(versions.invalid_markers == 1);
    // A forged marker (copied under another number) is ignored.
    fs::copy_file(f.data_dir() / "keys" / "version-00000002",
                  f.data_dir() / "keys" / "version-00000007");
    versions = infrastructure::read_key_versions(f.env, f.data_dir(), *f.crypto).value();
    CHECK(versions.current == 2);
    CHECK(versions.invalid_markers == 1);
    fs::remove(f.data_dir() / "keys" / "version-00000007");
    // A store opened afterwards by another process (a fresh Crypto at version
    // 1 from the same master key) follows the marker and seals with version 2.
    auto second_process = infrastructure::Crypto::create(infrastructure::SecretKey{master}).value();
    auto store = infrastructure::Store::open(f.env, f.data_dir(), f.state_dir(1), *second_process,
                                             testing::test_settings());
    REQUIRE(store);
    CHECK(second_process->current_key_id() == 2);
    CHECK((*store)->get("notes", "a"));
}

TEST_CASE(
    "rotation re-encrypts documents, chat, files and the key check, then retires the old "
    "version",
    "[key-rotation]") {
    testing::OpsFixture f;
    f.populate();
    const auto before = testing::export_all(*f.store);
    const auto data = f.fixture.data_dir();
    CHECK(key_id_of_file(data / "keycheck.nxk") == 1);

    repositories::KeyRotation rotation{f.fixture.env, data,          *f.store,
                                       f.documents,   f.blobs.get(), *f.fixture.crypto};
    CHECK_FALSE(rotation.is_in_progress());
    REQUIRE(infrastructure::create_key_version(f.fixture.env, data, *f.fixture.crypto).value() ==
            2);
    CHECK(rotation.is_in_progress());
    auto job = repositories::make_key_rotation_job(rotation);
    CHECK(job.name == "key-rotation");
    CHECK(job.has_unfinished_work());

    // New writes get the new key id at once.
    REQUIRE(f.store->put("notes", "fresh", R"({"new":1})"));
    CHECK(key_id_of_file(newest_commit_file(data / "notes" / "log")) == 2);

    // The old version is retired only at the end: a run with a long blob
    // grace period re-encrypts everything but must wait for the old blobs.
    auto slow_blobs = f.open_blobs(std::chrono::hours{1});
    repositories::KeyRotation waiting{
        f.fixture.env, data, *f.store, f.documents, slow_blobs.get(), *f.fixture.crypto};
    auto first = waiting.run({});
    REQUIRE(first);
    CHECK(first->failures == 0);
    CHECK(first->key_check_resealed);
    CHECK(first->collections_rekeyed >= 4);  // notes, quiet (marker), _chat-room1, _files
    CHECK(first->blobs_reencrypted == 2);
    CHECK(first->retired_now.empty());
    CHECK_FALSE(first->is_finished);
    CHECK(first->files_by_version.at(1) == 2);  // the two old blobs, retired but in their grace
    CHECK_FALSE(f.fixture.crypto->is_retired(KeyPurpose::documents, 1));
    CHECK(job.has_unfinished_work());

    std::vector<std::string> lines;
    auto outcome =
        job.run(config::JobContext{{}, [&](std::string_view l) { lines.emplace_back(l); }});
    CHECK(outcome.ok);
    CHECK(outcome.summary.find("retired v1") != std::string::npos);
    CHECK_FALSE(lines.empty());
    CHECK_FALSE(job.has_unfinished_work());
    CHECK(f.fixture.crypto->is_retired(KeyPurpose::documents, 1));
    auto counts = rotation.count_files_by_version().value();
    CHECK(counts.size() == 1);
    CHECK(counts.begin()->first == 2);
    CHECK(fs::exists(data / "keys" / "retired-00000001"));

    // Everything reads back, from this store and from a fresh one.
    auto after = testing::export_all(*f.store);
    after["notes"].erase(std::remove_if(after["notes"].begin(), after["notes"].end(),
                                        [](const auto& r) { return std::get<0>(r) == "fresh"; }),
                         after["notes"].end());
    // File metadata switched blobs (a new _rev): compare the content instead.
    after.erase("_files");
    auto expected = before;
    expected.erase("_files");
    CHECK(after == expected);
    CHECK(testing::read_file_content(f.files, "docs/a.txt") == std::string(5000, 'a'));
    CHECK(testing::read_file_content(f.files, "docs/b.txt") == "bee");
    CHECK(f.store->read_appended("_chat-room1", 0, 100).value().size() == 25);
    CHECK(f.store->check_key());
    auto report = f.store->verify().value();
    CHECK(report.damaged.empty());

    f.store.reset();
    auto reopened = f.fixture.open_or_throw();
    CHECK(reopened->verify().value().damaged.empty());
    CHECK(reopened->get("quiet", "q1"));
    CHECK(reopened->count("quiet").value() == 5);
}

TEST_CASE("a rotation stopped part-way is completed by the next run", "[key-rotation]") {
    testing::OpsFixture f;
    f.populate();
    const auto data = f.fixture.data_dir();
    repositories::KeyRotation rotation{f.fixture.env, data,          *f.store,
                                       f.documents,   f.blobs.get(), *f.fixture.crypto};
    REQUIRE(infrastructure::create_key_version(f.fixture.env, data, *f.fixture.crypto));
    std::stop_source stop;
    int lines = 0;
    auto first = rotation.run(stop.get_token(), [&](std::string_view) {
        if (++lines == 2) stop.request_stop();  // after the second collection
    });
    REQUIRE(first);
    CHECK(first->was_stopped);
    CHECK(first->retired_now.empty());
    CHECK(rotation.is_in_progress());
    CHECK_FALSE(f.fixture.crypto->is_retired(KeyPurpose::documents, 1));
    CHECK(f.store->verify().value().damaged.empty());

    // A "crash": a new process (store + crypto from the same key) continues.
    auto second = rotation.run({});
    REQUIRE(second);
    CHECK(second->is_finished);
    CHECK(second->retired_now == std::vector<std::uint32_t>{1});
    CHECK_FALSE(rotation.is_in_progress());
    CHECK(f.store->verify().value().damaged.empty());
    // A second rotation works the same way.
    REQUIRE(infrastructure::create_key_version(f.fixture.env, data, *f.fixture.crypto).value() ==
            3);
    auto third = rotation.run({});
    REQUIRE(third);
    CHECK(third->is_finished);
    CHECK(third->retired_now == std::vector<std::uint32_t>{2});
    CHECK(testing::read_file_content(f.files, "docs/b.txt") == "bee");
}
