#include <catch2/catch.hpp>
#include <filesystem>

#include "infrastructure/data_dir_probe.hpp"
#include "support/temp_dir.hpp"

using namespace nexu;

TEST_CASE("the probe passes on a writable directory and leaves nothing behind", "[store]") {
    testing::TempDir dir;
    REQUIRE(infrastructure::probe_data_dir(dir.path(), "test"));
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("the probe fails when the directory is gone", "[store]") {
    testing::TempDir dir;
    auto probe = infrastructure::probe_data_dir(dir.path() / "missing", "test");
    REQUIRE_FALSE(probe);
    CHECK(probe.error().code == Errc::io_error);
}
