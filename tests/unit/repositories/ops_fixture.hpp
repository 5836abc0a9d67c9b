#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "repositories/document_repository.hpp"
#include "repositories/file_repository.hpp"
#include "support/store_fixture.hpp"

namespace nexu::testing {

// A data directory with every kind of object: documents (a checkpoint and a
// log tail), a quiet checkpointed collection, a chat log, and uploaded files.
struct OpsFixture {
    StoreFixture fixture;
    std::unique_ptr<infrastructure::Store> store = fixture.open_or_throw();
    repositories::DocumentRepository documents{*store};
    std::unique_ptr<infrastructure::BlobStore> blobs = open_blobs(std::chrono::milliseconds{0});
    repositories::FileRepository files{documents, *blobs};

    std::unique_ptr<infrastructure::BlobStore> open_blobs(std::chrono::milliseconds grace) {
        infrastructure::BlobSettings settings;
        settings.chunk_bytes = 1024;
        settings.retire_grace = grace;
        return infrastructure::BlobStore::open(fixture.env, fixture.data_dir(), *fixture.crypto,
                                               settings)
            .value();
    }

    void upload(std::string_view path, std::string_view content) {
        auto writer = files.start_upload().value();
        REQUIRE(writer.write(content));
        auto blob = writer.commit().value();
        REQUIRE(
            files.commit_upload(path, blob, "text/plain", repositories::FileActor{"u1", false}));
    }

    void populate() {
        for (int i = 0; i < 40; ++i) {
            REQUIRE(store->put("notes", numbered("n", static_cast<std::uint64_t>(i)),
                               R"({"v":)" + std::to_string(i) + "}"));
        }
        REQUIRE(store->checkpoint("notes"));
        for (int i = 0; i < 10; ++i)
            REQUIRE(store->put("notes", numbered("t", static_cast<std::uint64_t>(i)),
                               R"({"tail":true})"));
        REQUIRE(store->remove("notes", "n3"));
        for (int i = 0; i < 5; ++i)
            REQUIRE(store->put("quiet", numbered("q", static_cast<std::uint64_t>(i)), "{}"));
        REQUIRE(store->checkpoint("quiet"));
        for (int i = 0; i < 25; ++i)
            REQUIRE(store->append("_chat-room1", R"({"text":"hi )" + std::to_string(i) + R"("})"));
        upload("docs/a.txt", std::string(5000, 'a'));
        upload("docs/b.txt", "bee");
    }
};

// Every collection's documents (id, rev, body) and chat records, as a reader sees them.
using Export =
    std::map<std::string, std::vector<std::tuple<std::string, std::uint64_t, std::string>>>;
inline Export export_all(infrastructure::Store& store) {
    Export out;
    auto names = store.collections().value();
    for (const auto& name : names) {
        auto& rows = out[name];
        REQUIRE(store.scan(name, "",
                           [&](std::string_view id, const infrastructure::StoredDocument& doc) {
                               rows.emplace_back(std::string{id}, doc.rev, *doc.body);
                               return true;
                           }));
    }
    return out;
}

inline std::string read_file_content(repositories::FileRepository& files, std::string_view path) {
    auto meta = files.find(path).value();
    auto reader = files.open_content(meta, 0, meta.size_bytes).value();
    std::string out;
    for (;;) {
        auto piece = reader.next().value();
        if (piece.empty()) break;
        out += piece;
    }
    return out;
}

}  // namespace nexu::testing
