#include "infrastructure/env.hpp"

#include <catch2/catch.hpp>

#include "infrastructure/posix_env.hpp"
#include "support/faulty_env.hpp"
#include "support/temp_dir.hpp"

using namespace nexu;
using namespace nexu::infrastructure;
using nexu::testing::EnvOp;

TEST_CASE("create_durable commits once and a second writer gets a conflict", "[env]") {
    testing::TempDir dir;
    PosixEnv env;
    REQUIRE(create_durable(env, dir.path(), "a.nxl", "first", "t"));
    CHECK(env.read_file(dir.path() / "a.nxl").value() == "first");
    CHECK(create_durable(env, dir.path(), "a.nxl", "second", "t").error().code == Errc::conflict);
    CHECK(env.read_file(dir.path() / "a.nxl").value() == "first");
    // No temp file is left behind either way.
    CHECK(env.list_dir(dir.path()).value() == std::vector<std::string>{"a.nxl"});
}

TEST_CASE("PosixEnv maps errno to typed errors", "[env]") {
    testing::TempDir dir;
    PosixEnv env;
    CHECK(env.read_file(dir.path() / "missing").error().code == Errc::not_found);
    CHECK(env.remove(dir.path() / "missing").error().code == Errc::not_found);
    CHECK(errno_error("write", "x", ENOSPC).code == Errc::unavailable);
    CHECK(errno_error("write", "x", EDQUOT).code == Errc::unavailable);
    CHECK(is_stale_handle(errno_error("open", "x", ESTALE)));
    CHECK(errno_error("fsync", "x", EIO).code == Errc::io_error);
    REQUIRE(env.make_dir(dir.path() / "sub"));
    CHECK(env.make_dir(dir.path() / "sub"));  // exists: fine
    REQUIRE(create_durable(env, dir.path(), "r", "0123456789", "t"));
    CHECK(env.read_range(dir.path() / "r", 3, 4).value() == "3456");
    CHECK(env.read_range(dir.path() / "r", 8, 4).value() == "89");
}

TEST_CASE("a failed write step leaves no final name and no temp file", "[env]") {
    for (const auto op :
         {EnvOp::create_file, EnvOp::append, EnvOp::sync, EnvOp::close, EnvOp::link}) {
        testing::TempDir dir;
        PosixEnv posix;
        testing::FaultyEnv env{posix};
        env.fail_next(op, EIO);
        CAPTURE(testing::to_string(op));
        CHECK_FALSE(create_durable(env, dir.path(), "a", "data", "t"));
        CHECK(posix.list_dir(dir.path()).value().empty());
        CHECK(create_durable(env, dir.path(), "a", "data", "t"));
    }
}

TEST_CASE("a short write fails the commit", "[env]") {
    testing::TempDir dir;
    PosixEnv posix;
    testing::FaultyEnv env{posix};
    env.short_write_next();
    CHECK(create_durable(env, dir.path(), "a", "data", "t").error().code == Errc::unavailable);
    CHECK(posix.list_dir(dir.path()).value().empty());
}

TEST_CASE("a power cut drops what was not synced and keeps what was", "[env]") {
    testing::TempDir dir;
    PosixEnv posix;
    testing::FaultyEnv env{posix};
    REQUIRE(create_durable(env, dir.path(), "durable", "kept", "t"));
    REQUIRE(replace_file(env, dir.path(), "replaced", "v1", "t"));
    auto file = env.create_file(dir.path() / "partial").value();
    REQUIRE(file->append("abc"));
    REQUIRE(file->sync());
    REQUIRE(env.sync_dir(dir.path()));
    // Nothing below is followed by a sync of its directory.
    REQUIRE(file->append("def"));
    REQUIRE(file->close());
    REQUIRE(create_durable(env, dir.path(), "unsynced-name", "lost", "t"));
    REQUIRE(replace_file(env, dir.path(), "replaced", "v2", "t", false));
    REQUIRE(env.remove(dir.path() / "durable"));

    env.lose_unsynced_data();
    CHECK(posix.read_file(dir.path() / "durable").value() == "kept");
    CHECK(posix.read_file(dir.path() / "unsynced-name").error().code == Errc::not_found);
    CHECK(posix.read_file(dir.path() / "replaced").value() == "v1");
    CHECK(posix.read_file(dir.path() / "partial").value() == "abc");
}

TEST_CASE("after a crash point every call fails until the power cut", "[env]") {
    testing::TempDir dir;
    PosixEnv posix;
    testing::FaultyEnv env{posix};
    env.crash_at_barrier(1);
    CHECK_FALSE(create_durable(env, dir.path(), "a", "data", "t"));
    CHECK(env.has_crashed());
    CHECK_FALSE(env.list_dir(dir.path()));
    env.lose_unsynced_data();
    CHECK(env.list_dir(dir.path()));
}
