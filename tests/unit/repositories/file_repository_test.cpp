#include "repositories/file_repository.hpp"

#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using nexu::repositories::DocumentRepository;
using nexu::repositories::FileActor;
using nexu::repositories::FileRepository;
using nexu::repositories::UploadOutcome;

namespace {

struct FilesFixture {
    testing::StoreFixture store_fixture;
    std::unique_ptr<infrastructure::Store> store = store_fixture.open_or_throw();
    DocumentRepository documents{*store};
    std::unique_ptr<infrastructure::BlobStore> blobs = [this] {
        infrastructure::BlobSettings settings;
        settings.retire_grace = std::chrono::milliseconds{0};
        settings.orphan_grace = std::chrono::milliseconds{0};
        return infrastructure::BlobStore::open(store_fixture.env, store_fixture.data_dir(),
                                               *store_fixture.crypto, settings)
            .value();
    }();
    FileRepository files{documents, *blobs};

    infrastructure::StoredBlob blob_of(std::string_view content) {
        auto writer = files.start_upload().value();
        REQUIRE(writer.write(content));
        return writer.commit().value();
    }
    std::string content_of(const repositories::FileMetadata& file) {
        auto reader = files.open_content(file, 0, file.size_bytes).value();
        std::string out;
        while (true) {
            auto piece = reader.next().value();
            if (piece.empty()) return out;
            out += piece;
        }
    }
    std::size_t blob_files() {
        std::size_t count = 0;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(
                 store_fixture.data_dir() / infrastructure::BlobStore::kDirName)) {
            if (entry.is_regular_file() && entry.path().extension() == ".nxb") ++count;
        }
        return count;
    }
};

const FileActor kAlice{"alice", false};
const FileActor kBob{"bob", false};
const FileActor kAdmin{"root", true};

}  // namespace

TEST_CASE("the first upload makes its uploader the owner, replacements bump _rev", "[files]") {
    FilesFixture f;
    auto created = f.files.commit_upload("docs/a.txt", f.blob_of("one"), "text/plain", kAlice);
    REQUIRE(created);
    CHECK(created->kind == UploadOutcome::Kind::created);
    CHECK(created->file.rev == 1);
    CHECK(created->file.owner == "alice");
    CHECK(created->file.size_bytes == 3);

    auto replaced = f.files.commit_upload("docs/a.txt", f.blob_of("two!"), "text/x", kAlice);
    REQUIRE(replaced);
    CHECK(replaced->kind == UploadOutcome::Kind::replaced);
    CHECK(replaced->file.rev == 2);
    CHECK(replaced->file.created_at == created->file.created_at);

    auto by_admin = f.files.commit_upload("docs/a.txt", f.blob_of("three"), "text/y", kAdmin);
    REQUIRE(by_admin);
    CHECK(by_admin->kind == UploadOutcome::Kind::replaced);
    CHECK(by_admin->file.rev == 3);
    CHECK(by_admin->file.owner == "alice");  // an admin's replacement keeps the owner

    auto found = f.files.find("docs/a.txt").value();
    CHECK(found.rev == 3);
    CHECK(found.content_type == "text/y");
    CHECK(f.content_of(found) == "three");
    CHECK(f.files.find("docs/b.txt").error().code == Errc::not_found);
}

TEST_CASE("someone else's file is refused and the refused blob removed", "[files]") {
    FilesFixture f;
    REQUIRE(f.files.commit_upload("a", f.blob_of("alice's"), "text/plain", kAlice));
    CHECK(f.blob_files() == 1);
    auto refused = f.files.commit_upload("a", f.blob_of("bob's"), "text/plain", kBob);
    REQUIRE(refused);
    CHECK(refused->kind == UploadOutcome::Kind::forbidden);
    CHECK(f.blob_files() == 1);
    CHECK(f.content_of(f.files.find("a").value()) == "alice's");
}

TEST_CASE("If-Match and If-None-Match preconditions are checked with the commit", "[files]") {
    FilesFixture f;
    CHECK(f.files.commit_upload("p", f.blob_of("x"), "t", kAlice, std::uint64_t{1})->kind ==
          UploadOutcome::Kind::precondition_failed);
    CHECK(f.files.commit_upload("p", f.blob_of("x"), "t", kAlice, std::uint64_t{0})->kind ==
          UploadOutcome::Kind::created);
    CHECK(f.files.commit_upload("p", f.blob_of("y"), "t", kAlice, std::uint64_t{0})->kind ==
          UploadOutcome::Kind::precondition_failed);
    CHECK(f.files.commit_upload("p", f.blob_of("y"), "t", kAlice, std::uint64_t{2})->kind ==
          UploadOutcome::Kind::precondition_failed);
    CHECK(f.files.commit_upload("p", f.blob_of("y"), "t", kAlice, std::uint64_t{1})->kind ==
          UploadOutcome::Kind::replaced);
    CHECK(f.blob_files() == 2);  // refused blobs are gone; the replaced one is retired...
    CHECK(f.files.collect_garbage().value() == 1);
    CHECK(f.blob_files() == 1);  // ...and gone after collection
}

TEST_CASE("concurrent uploads of one path get distinct revisions", "[files]") {
    FilesFixture f;
    constexpr int kWriters = 6;
    std::vector<infrastructure::StoredBlob> blobs;
    for (int i = 0; i < kWriters; ++i) blobs.push_back(f.blob_of("v" + std::to_string(i)));
    std::vector<Result<UploadOutcome>> outcomes(kWriters, fail(Errc::io_error));
    std::vector<std::thread> threads;
    for (int i = 0; i < kWriters; ++i) {
        threads.emplace_back([&, i] {
            outcomes[static_cast<std::size_t>(i)] =
                f.files.commit_upload("race", blobs[static_cast<std::size_t>(i)], "t", kAlice);
        });
    }
    for (auto& thread : threads) thread.join();
    std::set<std::uint64_t> revs;
    int created = 0;
    for (const auto& outcome : outcomes) {
        REQUIRE(outcome);
        revs.insert(outcome->file.rev);
        if (outcome->kind == UploadOutcome::Kind::created) ++created;
    }
    CHECK(created == 1);
    CHECK(revs.size() == kWriters);
    CHECK(f.files.find("race").value().rev == kWriters);
}

TEST_CASE("delete retires the blob, list filters by prefix and owner in path order", "[files]") {
    FilesFixture f;
    for (const auto* path : {"d/b", "d/a", "e/c", "d2/x"}) {
        REQUIRE(f.files.commit_upload(path, f.blob_of(path), "t", kAlice));
    }
    REQUIRE(f.files.commit_upload("d/bob", f.blob_of("b"), "t", kBob));
    auto paths = [&](std::string_view prefix, std::optional<std::string_view> owner) {
        std::vector<std::string> out;
        const auto files = f.files.list(prefix, owner).value();
        for (const auto& file : files) out.push_back(file.path);
        return out;
    };
    CHECK(paths("d/", "alice") == std::vector<std::string>{"d/a", "d/b"});
    CHECK(paths("d/", std::nullopt) == std::vector<std::string>{"d/a", "d/b", "d/bob"});
    CHECK(paths("d", "alice") == std::vector<std::string>{"d/a", "d/b", "d2/x"});
    CHECK(paths("", "bob") == std::vector<std::string>{"d/bob"});

    auto file = f.files.find("d/a").value();
    REQUIRE(f.files.remove(file));
    CHECK(f.files.find("d/a").error().code == Errc::not_found);
    CHECK(f.files.remove(file).error().code != Errc::io_error);  // already gone: not acknowledged
    CHECK(f.files.collect_garbage().value() == 1);
    CHECK(f.blob_files() == 4);
}

TEST_CASE("blobs no metadata points to are collected as orphans, referenced ones kept", "[files]") {
    FilesFixture f;
    REQUIRE(f.files.commit_upload("kept", f.blob_of("kept"), "t", kAlice));
    const auto orphan = f.blob_of("left by a crash before the metadata switch");
    CHECK(f.blob_files() == 2);
    CHECK(f.files.collect_orphans().value() == 1);
    CHECK(f.blob_files() == 1);
    CHECK_FALSE(std::filesystem::exists(f.blobs->path_of(orphan.name)));
    CHECK(f.content_of(f.files.find("kept").value()) == "kept");
    CHECK(f.files.collect_orphans().value() == 0);
}
