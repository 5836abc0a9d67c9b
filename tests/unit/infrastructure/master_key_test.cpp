#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "infrastructure/master_key.hpp"
#include "support/temp_dir.hpp"

using namespace nexu;
using infrastructure::create_master_key;
using infrastructure::load_master_key;

TEST_CASE("a created key file is 0600 and loads back", "[crypto]") {
    testing::TempDir dir;
    const auto path = dir.path() / "secrets" / "master.key";
    REQUIRE(create_master_key(path));
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(::stat(path.parent_path().c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0700);
    auto key = load_master_key(path);
    REQUIRE(key);
    CHECK(create_master_key(path).error().code == Errc::conflict);
}

TEST_CASE("a missing key file is not_found naming the setting", "[crypto]") {
    testing::TempDir dir;
    auto key = load_master_key(dir.path() / "nope.key");
    REQUIRE_FALSE(key);
    CHECK(key.error().code == Errc::not_found);
    CHECK(key.error().context.find("NEXU_KEY_FILE") == 0);
}

TEST_CASE("a key file readable by others or of the wrong size is refused", "[crypto]") {
    testing::TempDir dir;
    const auto path = dir.path() / "master.key";
    REQUIRE(create_master_key(path));
    ::chmod(path.c_str(), 0640);
    auto open_to_group = load_master_key(path);
    REQUIRE_FALSE(open_to_group);
    CHECK(open_to_group.error().code == Errc::invalid_argument);
    CHECK(open_to_group.error().context.find("chmod 600") != std::string::npos);

    ::chmod(path.c_str(), 0600);
    for (const std::string& content : {std::string(62, 'a'), std::string(66, 'a'),
                                      std::string(64, 'g'), std::string{}}) {
        std::ofstream{path, std::ios::trunc} << content;
        auto key = load_master_key(path);
        REQUIRE_FALSE(key);
        CHECK(key.error().code == Errc::invalid_argument);
        CHECK(key.error().context.find("64 hexadecimal") != std::string::npos);
        if (!content.empty()) CHECK(key.error().context.find(content) == std::string::npos);
    }
}
