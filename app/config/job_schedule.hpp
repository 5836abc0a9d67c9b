#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace nexu::config {

// When a job runs, from NEXU_JOB_<NAME>_SCHEDULE: `off`, `every N{s,m,h,d}`
// or a 5-field cron subset in UTC (`M H * * *`, `*/15 * * * *`, day of week
// allowed; each field `*`, `*/N`, a number, a range `A-B` or a comma list).
//
// Every instance computes the same slot for a schedule, so a per-slot lease
// names one run cluster-wide: for an interval, floor(epoch_s / interval_s);
// for cron, the epoch minute of the scheduled minute. Immutable, thread-safe.
class JobSchedule {
public:
    using Clock = std::chrono::system_clock;

    // A message saying what is allowed when `text` is not a schedule.
    static tl::expected<JobSchedule, std::string> parse(std::string_view text);
    static JobSchedule off() { return JobSchedule{}; }

    bool is_off() const { return kind_ == Kind::off; }
    // The first scheduled time strictly after `after`; nullopt when off.
    std::optional<Clock::time_point> next_after(Clock::time_point after) const;
    // The slot number of a scheduled time (as returned by next_after).
    std::int64_t slot_of(Clock::time_point scheduled) const;
    // The nominal spacing of runs (an interval; cron: the gap from the given
    // scheduled time to the next one), for the jitter bound.
    std::chrono::seconds period_after(Clock::time_point scheduled) const;
    // The text it was parsed from, normalised ("every 10m", "0 3 * * *", "off").
    const std::string& text() const { return text_; }

private:
    enum class Kind { off, interval, cron };
    JobSchedule() : text_("off") {}

    Kind kind_ = Kind::off;
    std::string text_;
    std::int64_t interval_s_ = 0;
    // cron: one bit per allowed value
    std::uint64_t minutes_ = 0;  // 0-59
    std::uint32_t hours_ = 0;    // 0-23
    std::uint32_t days_ = 0;     // 1-31
    std::uint16_t months_ = 0;   // 1-12
    std::uint8_t weekdays_ = 0;  // 0-6, Sunday 0 (7 accepted as Sunday)
    bool days_restricted_ = false;
    bool weekdays_restricted_ = false;
};

}  // namespace nexu::config
