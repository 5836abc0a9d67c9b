#include "infrastructure/backup.hpp"

#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "ops_fixture.hpp"

using namespace nexu;
namespace fs = std::filesystem;

namespace {

void flip_byte(const fs::path& path, std::size_t at) {
    std::fstream file{path, std::ios::in | std::ios::out | std::ios::binary};
    file.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    file.get(c);
    file.seekp(static_cast<std::streamoff>(at));
    file.put(static_cast<char>(c ^ 0x20));
}

fs::path first_file_under(const fs::path& dir, std::string_view suffix) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file() && entry.path().string().ends_with(suffix)) return entry.path();
    }
    return {};
}

bool is_empty_dir(const fs::path& dir) {
    return !fs::exists(dir) || fs::is_empty(dir);
}

}  // namespace

TEST_CASE("a backup restores into an empty directory with the same exports, chat and files",
          "[backup]") {
    testing::OpsFixture f;
    f.populate();
    const auto before = testing::export_all(*f.store);
    infrastructure::BackupOptions options;
    options.root = f.fixture.dir.path() / "backups";
    auto result =
        infrastructure::run_backup(f.fixture.env, f.fixture.data_dir(), *f.fixture.crypto, options);
    REQUIRE(result);
    CHECK(result->is_complete);
    CHECK(result->collections >= 4);  // notes, quiet, _chat-room1, _files
    CHECK(fs::exists(result->dir / infrastructure::kBackupManifestName));
    CHECK_FALSE(infrastructure::has_incomplete_backup(f.fixture.env, options.root));

    // Writes after the backup are not in it.
    REQUIRE(f.store->put("notes", "after", "{}"));

    const auto restored_dir = f.fixture.dir.path() / "restored";
    auto restored = infrastructure::restore_backup(f.fixture.env, options.root, restored_dir,
                                                   *f.fixture.crypto);
    REQUIRE(restored);
    CHECK(restored->files == result->files);
    CHECK(restored->directory_id_hex.size() == 32);

    auto store = infrastructure::Store::open(f.fixture.env, restored_dir,
                                             f.fixture.dir.path() / "state-restored",
                                             *f.fixture.crypto, testing::test_settings());
    REQUIRE(store);
    CHECK(testing::export_all(**store) == before);
    auto chat = (*store)->read_appended("_chat-room1", 0, 100).value();
    CHECK(chat.size() == 25);
    CHECK((*store)->sequence("_chat-room1").value() == 25);
    CHECK((*store)->get("notes", "after").error().code == Errc::not_found);
    repositories::DocumentRepository documents{**store};
    auto blobs = infrastructure::BlobStore::open(f.fixture.env, restored_dir, *f.fixture.crypto);
    REQUIRE(blobs);
    repositories::FileRepository files{documents, **blobs};
    CHECK(testing::read_file_content(files, "docs/a.txt") == std::string(5000, 'a'));
    CHECK(testing::read_file_content(files, "docs/b.txt") == "bee");
    auto report = (*store)->verify().value();
    CHECK(report.damaged.empty());
}

TEST_CASE("restore refuses a non-empty data directory and leaves it alone", "[backup]") {
    testing::OpsFixture f;
    f.populate();
    infrastructure::BackupOptions options;
    options.root = f.fixture.dir.path() / "backups";
    REQUIRE(infrastructure::run_backup(f.fixture.env, f.fixture.data_dir(), *f.fixture.crypto,
                                       options));
    const auto target = f.fixture.dir.path() / "occupied";
    fs::create_directories(target);
    std::ofstream{target / "something"} << "x";
    auto restored =
        infrastructure::restore_backup(f.fixture.env, options.root, target, *f.fixture.crypto);
    REQUIRE_FALSE(restored);
    CHECK(restored.error().code == Errc::conflict);
    CHECK(fs::exists(target / "something"));
    CHECK(std::distance(fs::directory_iterator(target), fs::directory_iterator{}) == 1);
    // The live data directory itself is never a restore target.
    CHECK_FALSE(infrastructure::restore_backup(f.fixture.env, options.root, f.fixture.data_dir(),
                                               *f.fixture.crypto));
}

TEST_CASE("a tampered backup file or manifest is refused on restore", "[backup]") {
    testing::OpsFixture f;
    f.populate();
    infrastructure::BackupOptions options;
    options.root = f.fixture.dir.path() / "backups";
    auto result =
        infrastructure::run_backup(f.fixture.env, f.fixture.data_dir(), *f.fixture.crypto, options)
            .value();
    const auto target = f.fixture.dir.path() / "restored";

    SECTION("a flipped byte in a commit file") {
        const auto victim = first_file_under(result.dir / "data" / "notes" / "log", ".nxl");
        REQUIRE_FALSE(victim.empty());
        flip_byte(victim, 30);
        auto restored =
            infrastructure::restore_backup(f.fixture.env, result.dir, target, *f.fixture.crypto);
        REQUIRE_FALSE(restored);
        CHECK(restored.error().code == Errc::corrupt_object);
        CHECK(restored.error().context.find("SHA-256") != std::string::npos);
        CHECK(is_empty_dir(target));
    }
    SECTION("a missing blob") {
        const auto victim = first_file_under(result.dir / "data" / "_blobs", ".nxb");
        REQUIRE_FALSE(victim.empty());
        fs::remove(victim);
        auto restored =
            infrastructure::restore_backup(f.fixture.env, result.dir, target, *f.fixture.crypto);
        REQUIRE_FALSE(restored);
        CHECK(restored.error().code == Errc::corrupt_object);
        CHECK(is_empty_dir(target));
    }
    SECTION("a flipped byte in the manifest") {
        flip_byte(result.dir / infrastructure::kBackupManifestName, 40);
        auto restored =
            infrastructure::restore_backup(f.fixture.env, result.dir, target, *f.fixture.crypto);
        REQUIRE_FALSE(restored);
        CHECK(restored.error().code == Errc::corrupt_object);
        CHECK(is_empty_dir(target));
    }
    SECTION("another key") {
        auto other = testing::random_crypto();
        auto restored = infrastructure::restore_backup(f.fixture.env, result.dir, target, *other);
        REQUIRE_FALSE(restored);
        CHECK(restored.error().code == Errc::corrupt_object);
    }
}

TEST_CASE("an interrupted backup is resumed by the next run and then restores", "[backup]") {
    testing::OpsFixture f;
    f.populate();
    const auto before = testing::export_all(*f.store);
    std::stop_source stop;
    infrastructure::BackupOptions options;
    options.root = f.fixture.dir.path() / "backups";
    options.stop = stop.get_token();
    options.progress_every_files = 1;
    int lines = 0;
    options.progress = [&](std::string_view) {
        if (++lines == 6) stop.request_stop();  // part-way, as a kill or a timeout would
    };
    auto first =
        infrastructure::run_backup(f.fixture.env, f.fixture.data_dir(), *f.fixture.crypto, options);
    REQUIRE(first);
    CHECK_FALSE(first->is_complete);
    CHECK(first->files > 0);
    CHECK_FALSE(fs::exists(first->dir / infrastructure::kBackupManifestName));
    CHECK(infrastructure::has_incomplete_backup(f.fixture.env, options.root));
    // An incomplete backup is never restored.
    CHECK_FALSE(infrastructure::restore_backup(f.fixture.env, first->dir,
                                               f.fixture.dir.path() / "nope", *f.fixture.crypto));

    REQUIRE(f.store->put("notes", "between", "{}"));  // acknowledged before the resumed run
    infrastructure::BackupOptions again;
    again.root = options.root;
    auto second =
        infrastructure::run_backup(f.fixture.env, f.fixture.data_dir(), *f.fixture.crypto, again);
    REQUIRE(second);
    CHECK(second->is_complete);
    CHECK(second->was_resumed);
    CHECK(second->id == first->id);
    CHECK(second->reused_files > 0);
    CHECK_FALSE(infrastructure::has_incomplete_backup(f.fixture.env, options.root));

    const auto target = f.fixture.dir.path() / "restored";
    REQUIRE(infrastructure::restore_backup(f.fixture.env, options.root, target, *f.fixture.crypto));
    auto store = infrastructure::Store::open(f.fixture.env, target, f.fixture.dir.path() / "st2",
                                             *f.fixture.crypto, testing::test_settings())
                     .value();
    auto restored = testing::export_all(*store);
    CHECK(store->get("notes", "between"));
    auto& notes = restored["notes"];
    std::erase_if(notes, [](const auto& row) { return std::get<0>(row) == "between"; });
    CHECK(restored == before);
}

TEST_CASE("retention keeps the newest complete backups and drops stale incomplete ones",
          "[backup]") {
    testing::OpsFixture f;
    f.populate();
    infrastructure::BackupOptions options;
    options.root = f.fixture.dir.path() / "backups";
    options.keep = 2;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(infrastructure::run_backup(f.fixture.env, f.fixture.data_dir(),
                                                 *f.fixture.crypto, options)
                          ->id);
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    // A stale incomplete backup older than the newest complete one.
    fs::create_directories(options.root / "20000101T000000000Z-deadbeef" / "data");
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
    auto last =
        infrastructure::run_backup(f.fixture.env, f.fixture.data_dir(), *f.fixture.crypto, options);
    REQUIRE(last);
    CHECK_FALSE(last->was_resumed);
    auto complete = infrastructure::list_complete_backups(f.fixture.env, options.root);
    REQUIRE(complete.size() == 2);
    CHECK(complete[0] == last->id);
    CHECK(complete[1] == ids[2]);
    CHECK_FALSE(fs::exists(options.root / ids[0]));
    CHECK_FALSE(fs::exists(options.root / "20000101T000000000Z-deadbeef"));
}

TEST_CASE("the backup job reports, resumes and is disabled without a folder", "[backup]") {
    testing::OpsFixture f;
    f.populate();
    const auto root = f.fixture.dir.path() / "backups";
    auto job = infrastructure::make_backup_job(f.fixture.env, f.fixture.data_dir(),
                                               *f.fixture.crypto, root, 3);
    CHECK(job.name == "backup");
    CHECK_FALSE(job.has_unfinished_work());
    std::vector<std::string> lines;
    config::JobContext context{{}, [&](std::string_view line) { lines.emplace_back(line); }};
    auto outcome = job.run(context);
    CHECK(outcome.ok);
    CHECK(outcome.summary.find("complete") != std::string::npos);
    CHECK_FALSE(lines.empty());
    auto disabled = infrastructure::make_backup_job(f.fixture.env, f.fixture.data_dir(),
                                                    *f.fixture.crypto, {}, 3);
    auto off = disabled.run(context);
    CHECK(off.summary.find("disabled") != std::string::npos);
    CHECK_FALSE(disabled.has_unfinished_work());
}

TEST_CASE("NEXU_BACKUP_DIR and NEXU_BACKUP_KEEP are settings with defaults and validation",
          "[backup]") {
    auto defaults = config::load({}, {});
    REQUIRE(defaults);
    CHECK(defaults->backup.dir.empty());
    CHECK(defaults->backup.keep == 7);
    auto set = config::load({{"NEXU_BACKUP_DIR", "/srv/backups"}, {"NEXU_BACKUP_KEEP", "3"}}, {});
    REQUIRE(set);
    CHECK(set->backup.dir == "/srv/backups");
    CHECK(set->backup.keep == 3);
    for (const auto* bad : {"0", "-1", "many"}) {
        auto refused = config::load({{"NEXU_BACKUP_KEEP", bad}}, {});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().message.find("NEXU_BACKUP_KEEP") != std::string::npos);
    }
    CHECK(config::settings_help().find("NEXU_BACKUP_DIR") != std::string::npos);
}
