#include "config/job_schedule.hpp"

#include <catch2/catch.hpp>

#include "config/config.hpp"

using nexu::config::JobSchedule;
using Clock = std::chrono::system_clock;
using namespace std::chrono;

namespace {

// 2026-11-23 10:07:30 UTC, a Monday.
const Clock::time_point kMonday =
    Clock::time_point{sys_days{year{2026} / November / 23} + hours{10} + minutes{7} + seconds{30}};

JobSchedule parsed(std::string_view text) {
    auto schedule = JobSchedule::parse(text);
    REQUIRE(schedule);
    return *schedule;
}

}  // namespace

TEST_CASE("schedules parse: off, intervals and cron lines", "[config][scheduler]") {
    CHECK(parsed("off").is_off());
    CHECK_FALSE(parsed("every 10m").is_off());
    CHECK(parsed("every 10m").text() == "every 10m");
    CHECK(parsed("  0 3 * * *  ").text() == "0 3 * * *");
    CHECK(parsed("*/15 * * * *").text() == "*/15 * * * *");
    CHECK(parsed("0 9-17 * * 1-5").text() == "0 9-17 * * 1-5");
    CHECK(parsed("5,35 * * * 7").text() == "5,35 * * * 7");
}

TEST_CASE("bad schedules are refused with what is allowed", "[config][scheduler]") {
    for (const auto* text :
         {"", "on", "every", "every 10", "every 0s", "every -1m", "every 5x", "every 400d",
          "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
          "* * * * 8", "*/0 * * * *", "5-1 * * * *", "a * * * *", "0 0 31 2 *"}) {
        INFO(text);
        auto schedule = JobSchedule::parse(text);
        REQUIRE_FALSE(schedule);
        CHECK(schedule.error().find("must be off, every N") != std::string::npos);
    }
}

TEST_CASE("an interval's slots are floor(epoch / interval) and next_run the next boundary",
          "[config][scheduler]") {
    const auto every = parsed("every 10m");
    const auto next = every.next_after(kMonday);
    REQUIRE(next);
    CHECK(*next ==
          Clock::time_point{sys_days{year{2026} / November / 23} + hours{10} + minutes{10}});
    const auto epoch_s = duration_cast<seconds>(next->time_since_epoch()).count();
    CHECK(every.slot_of(*next) == epoch_s / 600);
    // Strictly after: a boundary itself gives the next one, one slot later.
    CHECK(*every.next_after(*next) == *next + minutes{10});
    CHECK(every.slot_of(*every.next_after(*next)) == every.slot_of(*next) + 1);
    CHECK(every.period_after(*next) == seconds{600});
    CHECK_FALSE(parsed("off").next_after(kMonday));
}

TEST_CASE("cron lines fire at their UTC minute and the slot is that minute",
          "[config][scheduler]") {
    const auto daily = parsed("30 3 * * *");
    const auto next = daily.next_after(kMonday);
    REQUIRE(next);
    CHECK(*next ==
          Clock::time_point{sys_days{year{2026} / November / 24} + hours{3} + minutes{30}});
    CHECK(daily.slot_of(*next) == duration_cast<minutes>(next->time_since_epoch()).count());
    CHECK(daily.period_after(*next) == hours{24});

    const auto quarter = parsed("*/15 * * * *");
    CHECK(*quarter.next_after(kMonday) ==
          Clock::time_point{sys_days{year{2026} / November / 23} + hours{10} + minutes{15}});

    // Day of week: Sunday (0 or 7) from a Monday is six days on.
    const auto sunday = parsed("0 12 * * 7");
    CHECK(*sunday.next_after(kMonday) ==
          Clock::time_point{sys_days{year{2026} / November / 29} + hours{12}});
    // Both day fields restricted: either matches (classic cron).
    const auto either = parsed("0 0 1 * 3");
    CHECK(*either.next_after(kMonday) == Clock::time_point{sys_days{year{2026} / November / 25}});
    // A month restriction crosses the year.
    const auto january = parsed("0 0 1 1 *");
    CHECK(*january.next_after(kMonday) == Clock::time_point{sys_days{year{2027} / January / 1}});
}

TEST_CASE("two instances compute the same slot for a run whatever their jitter",
          "[config][scheduler]") {
    const auto every = parsed("every 30s");
    const auto scheduled = *every.next_after(kMonday);
    // Each instance's due time is scheduled + its jitter (< the period); the
    // slot comes from the scheduled time, so it is the same everywhere.
    const auto late = scheduled + milliseconds{2900};
    CHECK(every.slot_of(scheduled) == every.slot_of(late));
    CHECK(*every.next_after(late) == scheduled + seconds{30});
}

TEST_CASE("job settings: defaults, overrides and a bad schedule naming its setting",
          "[config][scheduler]") {
    auto defaults = nexu::config::load({}, {});
    REQUIRE(defaults);
    CHECK(defaults->jobs.schedules.at("integrity").text() == "30 3 * * *");
    CHECK(defaults->jobs.schedules.at("log-rotation").text() == "every 1h");
    CHECK(defaults->jobs.schedules.at("key-rotation").text() == "every 10m");
    CHECK(defaults->jobs.jitter_fraction == Approx(0.1));
    CHECK(defaults->jobs.run_timeout == seconds{3600});

    auto changed = nexu::config::load({{"NEXU_JOB_REINDEX_SCHEDULE", "off"},
                                       {"NEXU_JOB_TEMP_CLEANUP_SCHEDULE", "every 30s"},
                                       {"NEXU_JOB_JITTER", "25%"},
                                       {"NEXU_JOB_TIMEOUT_S", "60"},
                                       {"NEXU_LOG_MAX_AGE_S", "0"}},
                                      {});
    REQUIRE(changed);
    CHECK(changed->jobs.schedules.at("reindex").is_off());
    CHECK(changed->jobs.schedules.at("temp-cleanup").text() == "every 30s");
    CHECK(changed->jobs.jitter_fraction == Approx(0.25));
    CHECK(changed->jobs.run_timeout == seconds{60});
    CHECK(changed->log.max_file_age == seconds{0});

    for (const auto& [name, value] :
         {std::pair{"NEXU_JOB_REINDEX_SCHEDULE", "every 5x"}, std::pair{"NEXU_JOB_JITTER", "80%"},
          std::pair{"NEXU_JOB_TIMEOUT_S", "0"}}) {
        auto refused = nexu::config::load({{name, value}}, {});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().message.starts_with(name));
    }
}
