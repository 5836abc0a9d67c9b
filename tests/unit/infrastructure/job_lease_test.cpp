#include "infrastructure/job_lease.hpp"

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "infrastructure/posix_env.hpp"
#include "support/temp_dir.hpp"

using namespace nexu;
using namespace nexu::infrastructure;
using namespace std::chrono_literals;
using Outcome = config::JobLeases::Outcome;

TEST_CASE("of threads racing for one slot lease exactly one wins", "[job_lease]") {
    testing::TempDir dir;
    PosixEnv env;
    for (std::int64_t slot = 1; slot <= 20; ++slot) {
        std::atomic<int> won{0};
        std::atomic<int> taken{0};
        std::vector<std::thread> racers;
        for (int i = 0; i < 4; ++i) {
            racers.emplace_back([&, i] {
                JobLease lease{env, dir.path(), "instance-" + std::to_string(i)};
                const auto outcome = lease.claim_slot("integrity", slot);
                (outcome == Outcome::won ? won : taken)++;
            });
        }
        for (auto& racer : racers) racer.join();
        CHECK(won == 1);
        CHECK(taken == 3);
    }
    JobLease lease{env, dir.path(), "a"};
    CHECK(lease.slot_leases("integrity").value().size() == 20);
}

TEST_CASE("of threads racing for the running marker exactly one wins until it finishes",
          "[job_lease]") {
    testing::TempDir dir;
    PosixEnv env;
    const auto expires = std::chrono::system_clock::now() + 1h;
    std::atomic<int> won{0};
    std::vector<std::string> tokens(4);
    std::vector<std::thread> racers;
    for (int i = 0; i < 4; ++i) {
        racers.emplace_back([&, i] {
            JobLease lease{env, dir.path(), "instance-" + std::to_string(i)};
            if (lease.start_run("reindex", expires, tokens[static_cast<std::size_t>(i)]) ==
                Outcome::won)
                ++won;
        });
    }
    for (auto& racer : racers) racer.join();
    CHECK(won == 1);
    JobLease lease{env, dir.path(), "late"};
    std::string token;
    CHECK(lease.start_run("reindex", expires, token) == Outcome::taken);
    for (const auto& held : tokens) {
        if (!held.empty()) lease.finish_run("reindex", held);
    }
    CHECK(lease.start_run("reindex", expires, token) == Outcome::won);
    CHECK_FALSE(token.empty());
}

TEST_CASE("an expired running marker (a crashed instance) is taken over", "[job_lease]") {
    testing::TempDir dir;
    PosixEnv env;
    JobLease crashed{env, dir.path(), "crashed"};
    std::string crashed_token;
    REQUIRE(crashed.start_run("integrity", std::chrono::system_clock::now() - 1s, crashed_token) ==
            Outcome::won);
    JobLease other{env, dir.path(), "other"};
    std::string token;
    REQUIRE(other.start_run("integrity", std::chrono::system_clock::now() + 1h, token) ==
            Outcome::won);
    CHECK(token != crashed_token);
    // The expired marker was tidied away; the live one blocks everyone else.
    CHECK_FALSE(std::filesystem::exists(other.job_dir("integrity") / crashed_token));
    std::string third;
    CHECK(crashed.start_run("integrity", std::chrono::system_clock::now() + 1h, third) ==
          Outcome::taken);
}

TEST_CASE("remove_old deletes old slot leases and expired markers only", "[job_lease]") {
    testing::TempDir dir;
    PosixEnv env;
    JobLease lease{env, dir.path(), "a"};
    REQUIRE(lease.claim_slot("temp-cleanup", 1) == Outcome::won);
    REQUIRE(lease.claim_slot("temp-cleanup", 2) == Outcome::won);
    std::string live;
    REQUIRE(lease.start_run("temp-cleanup", std::chrono::system_clock::now() + 1h, live) ==
            Outcome::won);
    std::ofstream{lease.job_dir("temp-cleanup") / ".nfs0000000000000042"} << "held open";
    const auto old = std::filesystem::file_time_type::clock::now() - 48h;
    std::filesystem::last_write_time(lease.job_dir("temp-cleanup") / "slot-1", old);
    CHECK(lease.remove_old(std::chrono::system_clock::now() - 24h).value() == 1);
    CHECK(lease.slot_leases("temp-cleanup").value() == std::vector<std::string>{"slot-2"});
    CHECK(std::filesystem::exists(lease.job_dir("temp-cleanup") / live));
    CHECK(std::filesystem::exists(lease.job_dir("temp-cleanup") / ".nfs0000000000000042"));
}

TEST_CASE("job names that could leave the lease directory are refused", "[job_lease]") {
    testing::TempDir dir;
    PosixEnv env;
    JobLease lease{env, dir.path(), "a"};
    std::string token;
    CHECK(lease.claim_slot("../x", 1) == Outcome::failed);
    CHECK(lease.start_run("a/b", std::chrono::system_clock::now() + 1h, token) == Outcome::failed);
}
