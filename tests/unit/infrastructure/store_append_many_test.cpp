// Store::append_many (chat, issue 8): several records in one commit.
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "infrastructure/storage_format.hpp"
#include "support/store_fixture.hpp"

using namespace nexu;
using namespace nexu::infrastructure;
using nexu::testing::EnvOp;
using nexu::testing::StoreFixture;
namespace sf = nexu::infrastructure::storage_format;

namespace {

constexpr std::string_view kRoom = "room";

std::size_t commit_files(const StoreFixture& fixture) {
    std::size_t count = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(fixture.data_dir() / "room" / "log")) {
        if (sf::parse_file_name(entry.path().filename().string())) ++count;
    }
    return count;
}

std::vector<std::string> bodies(std::string_view prefix, std::uint64_t count) {
    std::vector<std::string> out;
    for (std::uint64_t i = 0; i < count; ++i) out.push_back(testing::numbered(prefix, i));
    return out;
}

}  // namespace

TEST_CASE("append_many stores its records with consecutive seqs in one commit file",
          "[store][append_many]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    REQUIRE(store->append(kRoom, "first").value() == 1);
    CHECK(store->append_many(kRoom, bodies("m", 4)).value() == 2);
    CHECK(commit_files(fixture) == 2);
    CHECK(store->append(kRoom, "last").value() == 6);
    auto all = store->read_appended(kRoom, 0, 100).value();
    REQUIRE(all.size() == 6);
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].seq == i + 1);
    CHECK(*all[0].body == "first");
    CHECK(*all[1].body == "m0");
    CHECK(*all[4].body == "m3");
    CHECK(*all[5].body == "last");

    // Recovery (from the log, then from a checkpoint) reads the same records.
    store.reset();
    store = fixture.open_or_throw();
    CHECK(store->sequence(kRoom).value() == 6);
    CHECK(*store->read_appended(kRoom, 2, 1).value().front().body == "m1");
    REQUIRE(store->checkpoint(kRoom));
    store.reset();
    store = fixture.open_or_throw();
    auto again = store->read_appended(kRoom, 0, 100).value();
    REQUIRE(again.size() == 6);
    CHECK(*again[3].body == "m2");
}

TEST_CASE("append_many refuses an empty list", "[store][append_many]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    CHECK(store->append_many(kRoom, {}).error().code == Errc::invalid_argument);
    CHECK(store->sequence(kRoom).value() == 0);
}

TEST_CASE("a failed append_many stores none of its records", "[store][append_many][faults]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    REQUIRE(store->append(kRoom, "a"));
    fixture.env.fail_next(EnvOp::sync, EIO);
    CHECK(store->append_many(kRoom, bodies("x", 3)).error().code == Errc::io_error);
    store.reset();
    fixture.env.lose_unsynced_data();
    store = fixture.open_or_throw();
    CHECK(store->sequence(kRoom).value() == 1);
    CHECK(store->append_many(kRoom, bodies("y", 2)).value() == 2);
    auto all = store->read_appended(kRoom, 0, 100).value();
    REQUIRE(all.size() == 3);
    CHECK(*all[1].body == "y0");
    CHECK(*all[2].body == "y1");
}

TEST_CASE("concurrent append_many calls keep each caller's records together and in order",
          "[store][append_many]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    constexpr std::uint64_t kThreads = 6;
    constexpr std::uint64_t kCalls = 10;
    constexpr std::uint64_t kPerCall = 5;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint64_t c = 0; c < kCalls; ++c) {
                std::vector<std::string> batch;
                for (std::uint64_t i = 0; i < kPerCall; ++i) {
                    auto body = testing::numbered("t", t);
                    body += testing::numbered("-", c * kPerCall + i);
                    batch.push_back(std::move(body));
                }
                if (!store->append_many(kRoom, std::move(batch))) ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures == 0);
    auto all = store->read_appended(kRoom, 0, 1000).value();
    REQUIRE(all.size() == kThreads * kCalls * kPerCall);
    std::map<std::string, std::uint64_t> next;  // per thread: the next record number expected
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(all[i].seq == i + 1);
        const auto& body = *all[i].body;
        const auto dash = body.find('-');
        REQUIRE(dash != std::string::npos);
        const auto thread = body.substr(0, dash);
        const auto number = std::stoull(body.substr(dash + 1));
        CHECK(number == next[thread]);  // each thread's records in its order, none missing
        next[thread] = number + 1;
        if (number % kPerCall != 0) {  // inside a call: right after the previous record of that call
            REQUIRE(i > 0);
            CHECK(all[i - 1].body->substr(0, dash) == thread);
        }
    }
    CHECK(commit_files(fixture) <= kThreads * kCalls);
}
