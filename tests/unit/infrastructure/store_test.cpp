#include <condition_variable>
#include <fstream>
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

constexpr std::string_view kNotes = "notes";

std::string body_of(Store& store, std::string_view id) {
    auto doc = store.get(kNotes, id);
    if (!doc) return "<" + std::string{to_string(doc.error().code)} + ">";
    return *doc->body;
}

std::vector<std::string> log_files(const StoreFixture& fixture) {
    std::vector<std::string> names;
    for (const auto& entry :
         std::filesystem::directory_iterator(fixture.data_dir() / "notes" / "log")) {
        if (sf::parse_file_name(entry.path().filename().string())) {
            names.push_back(entry.path().filename().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE("put, get, compare-and-set and delete keep revisions growing by one", "[store]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    CHECK(store->get(kNotes, "a").error().code == Errc::not_found);

    auto first = store->put(kNotes, "a", "v1");
    REQUIRE(first);
    CHECK(first->rev == 1);
    CHECK(first->seq == 1);
    CHECK(store->put(kNotes, "a", "v2", std::uint64_t{1})->rev == 2);
    auto stale = store->put(kNotes, "a", "v3", std::uint64_t{1});
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == Errc::conflict);
    CHECK(current_revision_of(stale.error()) == 2u);
    CHECK(store->put(kNotes, "a", "v3", std::uint64_t{0}).error().code == Errc::conflict);
    CHECK(body_of(*store, "a") == "v2");
    CHECK(store->get(kNotes, "a")->rev == 2);

    CHECK(store->remove(kNotes, "a", std::uint64_t{1}).error().code == Errc::conflict);
    CHECK(store->remove(kNotes, "a")->rev == 3);
    CHECK(store->get(kNotes, "a").error().code == Errc::not_found);
    CHECK(store->remove(kNotes, "a").error().code == Errc::not_found);
    // Re-created after a delete: the revision keeps growing, so an old
    // If-Match can never match the new document.
    CHECK(store->put(kNotes, "a", "again", std::uint64_t{0})->rev == 4);
    CHECK(store->sequence(kNotes).value() == 4);
}

TEST_CASE("bad names are invalid arguments", "[store]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    CHECK(store->put("Bad Name", "a", "x").error().code == Errc::invalid_argument);
    CHECK(store->put(kNotes, "", "x").error().code == Errc::invalid_argument);
    CHECK(store->put(kNotes, "a/b", "x").error().code == Errc::invalid_argument);
    CHECK(store->list(kNotes, "zz-not-hex", 10).error().code == Errc::invalid_argument);
}

TEST_CASE("the store recovers from the log, then from a checkpoint plus the log tail", "[store]") {
    StoreFixture fixture;
    {
        auto store = fixture.open_or_throw();
        for (int i = 0; i < 30; ++i)
            REQUIRE(store->put(kNotes, testing::numbered("d", static_cast<std::uint64_t>(i)),
                               testing::numbered("v", static_cast<std::uint64_t>(i))));
        REQUIRE(store->remove(kNotes, "d3"));
    }
    {
        auto store = fixture.open_or_throw();
        CHECK(body_of(*store, "d29") == "v29");
        CHECK(store->get(kNotes, "d3").error().code == Errc::not_found);
        CHECK(store->count(kNotes).value() == 29);
        REQUIRE(store->checkpoint(kNotes));
        REQUIRE(store->put(kNotes, "d0", "after checkpoint"));
        REQUIRE(store->put(kNotes, "d3", "back"));
    }
    auto store = fixture.open_or_throw();
    CHECK(body_of(*store, "d0") == "after checkpoint");
    CHECK(body_of(*store, "d17") == "v17");
    CHECK(store->get(kNotes, "d3")->rev == 3);
    CHECK(store->count(kNotes).value() == 30);
    CHECK(store->sequence(kNotes).value() == 33);
}

TEST_CASE("garbage collection deletes covered commit files and reads keep working", "[store]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    for (int i = 0; i < 20; ++i)
        REQUIRE(store->put(kNotes, testing::numbered("d", static_cast<std::uint64_t>(i)),
                           std::string(500, static_cast<char>('a' + i % 26))));
    REQUIRE(store->checkpoint(kNotes));
    REQUIRE(store->put(kNotes, "tail", "t"));
    CHECK(store->collect_garbage().value() > 0);  // grace 0 in tests
    CHECK(log_files(fixture) == std::vector<std::string>{sf::commit_file_name(21)});
    // Several segments (4 KiB each in tests), every document still readable.
    for (int i = 0; i < 20; ++i)
        CHECK(body_of(*store, testing::numbered("d", static_cast<std::uint64_t>(i))) ==
              std::string(500, static_cast<char>('a' + i % 26)));
    auto reopened = fixture.open_or_throw(testing::test_settings(), 1);
    CHECK(body_of(*reopened, "d7") == std::string(500, 'h'));
    CHECK(body_of(*reopened, "tail") == "t");
}

TEST_CASE("a second checkpoint supersedes the first and both instances follow", "[store]") {
    StoreFixture fixture;
    auto a = fixture.open_or_throw(testing::test_settings(), 0);
    auto b = fixture.open_or_throw(testing::test_settings(), 1);
    REQUIRE(a->put(kNotes, "x", "1"));
    REQUIRE(a->checkpoint(kNotes));
    CHECK(body_of(*b, "x") == "1");
    REQUIRE(b->put(kNotes, "x", "2", std::uint64_t{1}));
    REQUIRE(b->checkpoint(kNotes));
    (void)a->collect_garbage();
    (void)b->collect_garbage();
    CHECK(a->collect_garbage());
    CHECK(b->collect_garbage());
    // a's index pointed at files b deleted; it follows the newest checkpoint.
    CHECK(body_of(*a, "x") == "2");
    CHECK(a->put(kNotes, "x", "3", std::uint64_t{2})->rev == 3);
    CHECK(body_of(*b, "x") == "3");
}

TEST_CASE("listing pages through ids in order with an opaque cursor", "[store]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    for (const auto* id : {"c", "a", "e", "b", "d"}) REQUIRE(store->put(kNotes, id, id));
    REQUIRE(store->remove(kNotes, "b"));
    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
        auto page = store->list(kNotes, cursor, 2);
        REQUIRE(page);
        for (const auto& item : page->items) seen.push_back(item.id);
        cursor = page->next_cursor;
        ++pages;
    } while (!cursor.empty() && pages < 10);
    CHECK(seen == std::vector<std::string>{"a", "c", "d", "e"});
    CHECK(pages == 2);

    std::vector<std::string> scanned;
    REQUIRE(store->scan(kNotes, "a", [&](std::string_view id, const StoredDocument& doc) {
        scanned.emplace_back(id);
        CHECK(*doc.body == id);
        return scanned.size() < 2;
    }));
    CHECK(scanned == std::vector<std::string>{"c", "d"});
}

TEST_CASE("appended records get gap-free seqs and are read back after a seq", "[store]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    std::vector<std::uint64_t> seqs;
    for (int i = 0; i < 5; ++i)
        seqs.push_back(
            store->append("room", testing::numbered("m", static_cast<std::uint64_t>(i))).value());
    CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
    auto after = store->read_appended("room", 2, 2).value();
    REQUIRE(after.size() == 2);
    CHECK(after[0].seq == 3);
    CHECK(*after[0].body == "m2");
    CHECK(after[1].seq == 4);
    REQUIRE(store->checkpoint("room"));
    CHECK(store->read_appended("room", 0, 100)->size() == 5);
    CHECK(store->wait_for_sequence("room", 4, std::chrono::milliseconds{0}).value() == 5);
}

TEST_CASE("two stores on one directory never issue a revision or seq twice", "[store]") {
    StoreFixture fixture;
    auto a = fixture.open_or_throw(testing::test_settings(), 0);
    auto b = fixture.open_or_throw(testing::test_settings(), 1);
    REQUIRE(a->put(kNotes, "counter", "0"));
    // b has not read a's commit yet; its create collides, it catches up and
    // the compare-and-set is decided against the real state.
    CHECK(b->put(kNotes, "counter", "b", std::uint64_t{0}).error().code == Errc::conflict);
    CHECK(b->put(kNotes, "counter", "1", std::uint64_t{1})->rev == 2);
    CHECK(a->put(kNotes, "counter", "stale", std::uint64_t{1}).error().code == Errc::conflict);
    CHECK(a->put(kNotes, "counter", "2", std::uint64_t{2})->seq == 3);
    CHECK(body_of(*b, "counter") == "2");
}

TEST_CASE("concurrent writers all commit, sharing commit files", "[store]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    constexpr int kThreads = 8;
    constexpr int kWrites = 40;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    std::mutex seqs_mutex;
    std::set<std::uint64_t> seqs;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kWrites; ++i) {
                auto written = store->put(kNotes,
                                          testing::numbered("t", static_cast<std::uint64_t>(t)) +
                                              testing::numbered("-", static_cast<std::uint64_t>(i)),
                                          "x");
                if (!written) {
                    ++failures;
                    continue;
                }
                std::lock_guard lock{seqs_mutex};
                seqs.insert(written->seq);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures == 0);
    CHECK(seqs.size() == kThreads * kWrites);
    CHECK(*seqs.rbegin() == kThreads * kWrites);
    CHECK(store->count(kNotes).value() == kThreads * kWrites);
    CHECK(log_files(fixture).size() <= kThreads * kWrites);
}

TEST_CASE(
    "each failing write step fails the write, keeps the old revision, and the next write works",
    "[store][faults]") {
    const std::vector<std::pair<EnvOp, int>> faults{
        {EnvOp::create_file, EIO}, {EnvOp::create_file, ENOSPC}, {EnvOp::append, EIO},
        {EnvOp::append, ENOSPC},   {EnvOp::append, EDQUOT},      {EnvOp::sync, EIO},
        {EnvOp::close, EIO},       {EnvOp::link, EIO},           {EnvOp::link, ESTALE},
        {EnvOp::sync_dir, EIO},    {EnvOp::read_file, EIO},      {EnvOp::read_file, ESTALE}};
    for (const auto& [op, error_number] : faults) {
        CAPTURE(testing::to_string(op), error_number);
        StoreFixture fixture;
        auto store = fixture.open_or_throw();
        REQUIRE(store->put(kNotes, "a", "v1"));
        fixture.env.fail_next(op, error_number);
        if (error_number == ESTALE) {
            // Stale handles are retried on the read side; a stale link fails.
            fixture.env.fail_next(op, error_number);
            fixture.env.fail_next(op, error_number);
            fixture.env.fail_next(op, error_number);
            fixture.env.fail_next(op, error_number);
        }
        auto failed = store->put(kNotes, "a", "v2", std::uint64_t{1});
        REQUIRE_FALSE(failed);
        if (error_number == ENOSPC || error_number == EDQUOT || error_number == ESTALE) {
            CHECK(failed.error().code == Errc::unavailable);
        }
        fixture.env.clear_faults();
        if (op == EnvOp::sync_dir) {
            // The name was created but not made durable: unknown outcome, so
            // the next reader may or may not see it; both are allowed.
            const auto rev = store->get(kNotes, "a")->rev;
            CHECK((rev == 1 || rev == 2));
            CHECK(store->put(kNotes, "a", "v3", rev)->rev == rev + 1);
            continue;
        }
        CHECK(body_of(*store, "a") == "v1");
        CHECK(store->put(kNotes, "a", "v2", std::uint64_t{1})->rev == 2);
        fixture.env.lose_unsynced_data();
        auto reopened = fixture.open_or_throw();
        CHECK(body_of(*reopened, "a") == "v2");
    }
}

TEST_CASE("a short write is no space, and writes work again once space is back",
          "[store][faults]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    REQUIRE(store->put(kNotes, "a", "v1"));
    fixture.env.short_write_next();
    CHECK(store->put(kNotes, "a", std::string(10'000, 'x')).error().code == Errc::unavailable);
    fixture.env.fail_always(EnvOp::append, ENOSPC);
    CHECK(store->put(kNotes, "a", "v2").error().code == Errc::unavailable);
    CHECK(store->put(kNotes, "b", "v2").error().code == Errc::unavailable);
    CHECK(body_of(*store, "a") == "v1");
    fixture.env.clear_faults();
    CHECK(store->put(kNotes, "a", "v2")->rev == 2);
}

TEST_CASE("a failed fsync is never acknowledged and a power cut keeps the old revision",
          "[store][faults]") {
    StoreFixture fixture;
    auto store = fixture.open_or_throw();
    REQUIRE(store->put(kNotes, "a", "v1"));
    fixture.env.fail_next(EnvOp::sync, EIO);
    CHECK(store->put(kNotes, "a", "v2").error().code == Errc::io_error);
    store.reset();
    fixture.env.lose_unsynced_data();
    CHECK(body_of(*fixture.open_or_throw(), "a") == "v1");
}

TEST_CASE("a wrong key is refused and never returns garbage", "[store]") {
    StoreFixture fixture;
    REQUIRE(fixture.open_or_throw()->put(kNotes, "a", "secret"));
    CHECK(check_data_dir_key(fixture.env, fixture.data_dir(), *fixture.crypto));
    auto other = testing::random_crypto();
    const auto checked = check_data_dir_key(fixture.env, fixture.data_dir(), *other);
    CHECK(checked.error().code == Errc::invalid_argument);
    CHECK(checked.error().context == "key does not decrypt the data directory");
    auto opened = Store::open(fixture.env, fixture.data_dir(), fixture.state_dir(), *other,
                              testing::test_settings());
    REQUIRE_FALSE(opened);
    CHECK(opened.error().context.find("key does not decrypt the data directory") !=
          std::string::npos);
    CHECK(check_data_dir_key(fixture.env, fixture.dir.path() / "empty", *other).error().code ==
          Errc::not_found);
}

TEST_CASE("stray files are ignored by reads, listings and recovery", "[store]") {
    StoreFixture fixture;
    {
        auto store = fixture.open_or_throw();
        REQUIRE(store->put(kNotes, "a", "v1"));
        REQUIRE(store->checkpoint(kNotes));
        REQUIRE(store->put(kNotes, "b", "v1"));
    }
    const auto coll = fixture.data_dir() / "notes";
    for (const auto& path :
         {coll / "log" / ".tmp-other-1-1", coll / "log" / ".nfs0000000000abc",
          coll / "log" / "README", coll / "ckpt" / ".tmp-x-2-2", coll / "junk",
          fixture.data_dir() / ".nfs1234", fixture.data_dir() / "Not-A-Collection"}) {
        std::ofstream{path} << "garbage";
    }
    auto store = fixture.open_or_throw();
    CHECK(body_of(*store, "a") == "v1");
    CHECK(store->list(kNotes, "", 10)->items.size() == 2);
    CHECK(store->collections().value() == std::vector<std::string>{"notes"});
    auto report = store->verify().value();
    CHECK(report.damaged.empty());
    CHECK(report.documents == 2);
}

TEST_CASE("a damaged checkpoint document fails alone; a damaged commit file fails its collection",
          "[store][tamper]") {
    StoreFixture fixture;
    {
        auto store = fixture.open_or_throw();
        for (int i = 0; i < 10; ++i)
            REQUIRE(store->put(kNotes, testing::numbered("d", static_cast<std::uint64_t>(i)),
                               testing::numbered("v", static_cast<std::uint64_t>(i))));
        REQUIRE(store->checkpoint(kNotes));
        REQUIRE(store->put("other", "x", "fine"));
    }
    const auto segment = fixture.data_dir() / "notes" / "ckpt" / sf::segment_name(10, 0);
    {
        std::fstream file{segment, std::ios::in | std::ios::out | std::ios::binary};
        file.seekp(-3, std::ios::end);  // inside the last document's tag
        file.put('\x55');
    }
    auto store = fixture.open_or_throw(testing::test_settings(), 1);
    CHECK(body_of(*store, "d0") == "v0");
    int corrupt = 0;
    for (int i = 0; i < 10; ++i) {
        auto doc = store->get(kNotes, testing::numbered("d", static_cast<std::uint64_t>(i)));
        if (!doc) {
            CHECK(doc.error().code == Errc::corrupt_object);
            CHECK(doc.error().context.find(sf::segment_name(10, 0)) != std::string::npos);
            ++corrupt;
        }
    }
    CHECK(corrupt == 1);
    auto report = store->verify().value();
    CHECK(report.damaged.size() == 1);

    // A flipped bit in a commit file: that collection reports it, others work.
    const auto commit = fixture.data_dir() / "other" / "log" / sf::commit_file_name(1);
    {
        std::fstream file{commit, std::ios::in | std::ios::out | std::ios::binary};
        file.seekp(30);
        file.put('\x01');
    }
    auto fresh = fixture.open_or_throw(testing::test_settings(), 2);
    auto damaged = fresh->get("other", "x");
    REQUIRE_FALSE(damaged);
    CHECK(damaged.error().code == Errc::corrupt_object);
    CHECK(damaged.error().context.find(sf::commit_file_name(1)) != std::string::npos);
    CHECK(fresh->put("other", "y", "z").error().code == Errc::corrupt_object);
    CHECK(body_of(*fresh, "d0") == "v0");
}

TEST_CASE("deleting a collection's newest commit files is detected as a rollback",
          "[store][tamper]") {
    StoreFixture fixture;
    {
        auto store = fixture.open_or_throw();
        for (int i = 0; i < 5; ++i)
            REQUIRE(store->put(kNotes, "a", testing::numbered("v", static_cast<std::uint64_t>(i))));
    }  // closing saves the high-water mark
    std::filesystem::remove(fixture.data_dir() / "notes" / "log" / sf::commit_file_name(5));
    auto store = fixture.open_or_throw();
    auto doc = store->get(kNotes, "a");
    REQUIRE_FALSE(doc);
    CHECK(doc.error().code == Errc::corrupt_object);
    CHECK(doc.error().context.find("rollback") != std::string::npos);
}

TEST_CASE("a writer paused across a checkpoint and deletion is not acknowledged", "[store]") {
    StoreFixture fixture;
    auto settings = testing::test_settings();
    auto a = fixture.open_or_throw(settings, 0);
    auto b = fixture.open_or_throw(settings, 1);
    REQUIRE(a->put(kNotes, "x", "v1"));

    // Pause a's next commit after it caught up and chose its seq (2), right
    // before it writes the temp file it will link to that name.
    std::mutex mutex;
    std::condition_variable changed;
    bool is_paused = false;
    bool may_resume = false;
    fixture.env.on_call(EnvOp::create_file, [&](const std::filesystem::path& path) {
        if (path.parent_path().filename() != "log") return;
        std::unique_lock lock{mutex};
        if (may_resume || is_paused) return;
        is_paused = true;
        changed.notify_all();
        changed.wait(lock, [&] { return may_resume; });
    });
    std::optional<Result<WriteOutcome>> paused_result;
    std::thread writer{
        [&] { paused_result = a->put(kNotes, "x", "from paused writer", std::uint64_t{1}); }};
    {
        std::unique_lock lock{mutex};
        changed.wait(lock, [&] { return is_paused; });
    }
    // Meanwhile b commits seq 2 and 3, checkpoints, and deletes the covered
    // commit files (grace 0), so the name a chose is creatable again.
    REQUIRE(b->put(kNotes, "x", "v2", std::uint64_t{1}));
    REQUIRE(b->put(kNotes, "y", "v1"));
    REQUIRE(b->checkpoint(kNotes));
    (void)b->collect_garbage();
    REQUIRE(b->collect_garbage());
    REQUIRE(log_files(fixture).empty());
    {
        std::lock_guard lock{mutex};
        may_resume = true;
    }
    changed.notify_all();
    writer.join();

    REQUIRE(paused_result);
    REQUIRE_FALSE(*paused_result);
    CHECK(paused_result->error().code == Errc::conflict);
    CHECK(body_of(*a, "x") == "v2");
    CHECK(body_of(*b, "x") == "v2");
    CHECK(b->sequence(kNotes).value() == 3);
}

TEST_CASE("the cache stays within budget while scanning a larger collection", "[store][cache]") {
    StoreFixture fixture;
    auto settings = testing::test_settings();
    settings.cache_bytes = 64 * 1024;
    auto store = fixture.open_or_throw(settings);
    for (int i = 0; i < 300; ++i)
        REQUIRE(store->put(kNotes, testing::numbered("d", static_cast<std::uint64_t>(i)),
                           std::string(1000, 'x')));
    REQUIRE(store->checkpoint(kNotes));
    auto reopened = fixture.open_or_throw(settings, 1);
    std::size_t seen = 0;
    REQUIRE(reopened->scan(kNotes, "", [&](std::string_view, const StoredDocument& doc) {
        ++seen;
        CHECK(doc.body->size() == 1000);
        CHECK(reopened->cache_used_bytes() <= settings.cache_bytes);
        return true;
    }));
    CHECK(seen == 300);
}

TEST_CASE("no plaintext marker from documents, ids or file names reaches the data directory",
          "[store][at-rest]") {
    StoreFixture fixture;
    const std::string marker = "MARKER-7f3e9c1d";
    {
        auto store = fixture.open_or_throw();
        REQUIRE(store->put(kNotes, "doc-" + marker, "{\"text\":\"" + marker + "\"}"));
        REQUIRE(store->put("_files", "f1",
                           "{\"name\":\"" + marker + ".pdf\",\"owner\":\"" + marker + "\"}"));
        REQUIRE(store->append("room", "{\"text\":\"" + marker + "\"}"));
        REQUIRE(store->checkpoint(kNotes));
        REQUIRE(store->put(kNotes, "doc2", marker + marker));
    }
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(fixture.data_dir())) {
        CHECK(entry.path().string().find(marker) == std::string::npos);
        if (!entry.is_regular_file()) continue;
        ++files;
        std::ifstream in{entry.path(), std::ios::binary};
        const std::string bytes{std::istreambuf_iterator<char>{in}, {}};
        CHECK(bytes.find(marker) == std::string::npos);
        CHECK(bytes.find("7f3e9c1d") == std::string::npos);
    }
    CHECK(files >= 6);
}
