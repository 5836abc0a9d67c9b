#include "infrastructure/storage_format.hpp"

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using namespace nexu::infrastructure;
namespace sf = nexu::infrastructure::storage_format;

TEST_CASE("file names round-trip and stray names are ignored", "[store]") {
    CHECK(sf::commit_file_name(42) == "00000000000000000042.nxl");
    CHECK(sf::parse_file_name(sf::commit_file_name(42))->seq == 42);
    const auto segment = sf::parse_file_name(sf::segment_name(9, 3));
    REQUIRE(segment);
    CHECK(segment->kind == sf::FileKind::segment);
    CHECK(segment->seq == 9);
    CHECK(segment->part == 3);
    CHECK(sf::parse_file_name(sf::checkpoint_index_name(5))->kind ==
          sf::FileKind::checkpoint_index);
    for (const auto* stray : {".tmp-x-1-2", ".nfs000000123", "00000000000000000042.nxl.bak",
                              "0000000000000000004.nxl", "CURRENT", "notes.txt"}) {
        CHECK_FALSE(sf::parse_file_name(stray));
    }
}

TEST_CASE("collection names and document ids are checked", "[store]") {
    CHECK(sf::is_valid_collection_name("notes"));
    CHECK(sf::is_valid_collection_name("_users"));
    CHECK_FALSE(sf::is_valid_collection_name("Notes"));
    CHECK_FALSE(sf::is_valid_collection_name("../etc"));
    CHECK_FALSE(sf::is_valid_collection_name(""));
    CHECK(sf::is_valid_document_id("a.b-c_1"));
    CHECK_FALSE(sf::is_valid_document_id(""));
    CHECK_FALSE(sf::is_valid_document_id(std::string(513, 'x')));
    CHECK_FALSE(sf::is_valid_document_id(std::string("a\0b", 3)));
}

TEST_CASE("a commit file opens only under its own collection and seq", "[store]") {
    auto crypto = testing::random_crypto();
    sf::Record put{sf::RecordOp::put, "doc", 3, "{\"a\":1}"};
    sf::Record removal{sf::RecordOp::remove, "gone", 2, ""};
    const auto bytes = sf::encode_commit_file(*crypto, "notes", 10, {&put, &removal}).value();
    const auto records = sf::decode_commit_file(*crypto, "notes", 10, bytes).value();
    REQUIRE(records.size() == 2);
    CHECK(records[0].id == "doc");
    CHECK(records[0].rev == 3);
    CHECK(records[0].body == "{\"a\":1}");
    CHECK(records[1].op == sf::RecordOp::remove);
    CHECK_FALSE(sf::decode_commit_file(*crypto, "notes", 11, bytes));
    CHECK_FALSE(sf::decode_commit_file(*crypto, "other", 10, bytes));
    CHECK_FALSE(sf::decode_commit_file(*crypto, "notes", 10, bytes + "x"));
    CHECK_FALSE(sf::decode_commit_file(*crypto, "notes", 10, bytes.substr(0, bytes.size() - 1)));
}

TEST_CASE("a checkpoint index and its documents round-trip", "[store]") {
    auto crypto = testing::random_crypto();
    std::string segment = sf::segment_header(1);
    const auto offset = segment.size();
    REQUIRE(sf::append_sealed_document(*crypto, 1, segment, "notes", "d1", 4, 17, "body"));
    const auto framed = std::string_view{segment}.substr(offset);
    CHECK(sf::open_sealed_document(*crypto, 1, framed, "notes", "d1", 4, 17).value() == "body");
    CHECK_FALSE(sf::open_sealed_document(*crypto, 1, framed, "notes", "d2", 4, 17));
    CHECK_FALSE(sf::open_sealed_document(*crypto, 1, framed, "notes", "d1", 5, 17));

    sf::CheckpointIndex index;
    index.seq = 17;
    index.segment_bytes = {segment.size()};
    index.entries.push_back(sf::IndexEntry{"d1", 4, 17, false, 0, offset, 10});
    index.entries.push_back(sf::IndexEntry{"d2", 2, 9, true, 0, 0, 0});
    const auto bytes = sf::encode_checkpoint_index(*crypto, "notes", index).value();
    const auto decoded = sf::decode_checkpoint_index(*crypto, "notes", 17, bytes).value();
    CHECK(decoded.segment_bytes == index.segment_bytes);
    REQUIRE(decoded.entries.size() == 2);
    CHECK(decoded.entries[1].is_deleted);
    CHECK(decoded.entries[0].offset == offset);
    CHECK_FALSE(sf::decode_checkpoint_index(*crypto, "notes", 16, bytes));
}

TEST_CASE("the key check opens only with the key that wrote it", "[store]") {
    auto crypto = testing::random_crypto();
    auto other = testing::random_crypto();
    const auto bytes = sf::encode_key_check(*crypto, "0123456789abcdef").value();
    CHECK(sf::decode_key_check(*crypto, bytes).value() == "0123456789abcdef");
    CHECK_FALSE(sf::decode_key_check(*other, bytes));
}
