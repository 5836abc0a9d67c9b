#include "config/job_schedule.hpp"

#include <charconv>
#include <vector>

namespace nexu::config {

namespace {

constexpr std::string_view kAllowed =
    "must be off, every N followed by s, m, h or d (every 10m), or a cron line "
    "'M H DOM MON DOW' in UTC (0 3 * * *, */15 * * * *)";

std::optional<std::int64_t> parse_number(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    while (true) {
        const auto at = text.find(separator);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos) break;
        text.remove_prefix(at + 1);
    }
    return parts;
}

// One cron field into a bit set of the values in [low, high]; false when malformed.
bool parse_field(std::string_view field, int low, int high, std::uint64_t& bits, bool& restricted) {
    bits = 0;
    restricted = field != "*";
    for (const auto item : split(field, ',')) {
        std::string_view range = item;
        std::int64_t step = 1;
        if (const auto slash = item.find('/'); slash != std::string_view::npos) {
            const auto parsed = parse_number(item.substr(slash + 1));
            if (!parsed || *parsed < 1 || *parsed > high) return false;
            step = *parsed;
            range = item.substr(0, slash);
        }
        std::int64_t first = low;
        std::int64_t last = high;
        if (range != "*") {
            const auto dash = range.find('-');
            const auto a = parse_number(range.substr(0, dash));
            if (!a) return false;
            first = *a;
            last = *a;
            if (dash != std::string_view::npos) {
                const auto b = parse_number(range.substr(dash + 1));
                if (!b) return false;
                last = *b;
            } else if (step != 1) {
                last = high;  // "5/10": from 5 every 10
            }
        }
        if (first < low || last > high || first > last) return false;
        for (auto value = first; value <= last; value += step) bits |= std::uint64_t{1} << value;
    }
    return true;
}

bool has(std::uint64_t bits, unsigned value) {
    return (bits >> value) & 1U;
}

}  // namespace

tl::expected<JobSchedule, std::string> JobSchedule::parse(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (text == "off") return JobSchedule{};

    JobSchedule schedule;
    if (text.starts_with("every ")) {
        auto amount = text.substr(6);
        if (amount.empty()) return tl::make_unexpected(std::string{kAllowed});
        std::int64_t unit = 0;
        switch (amount.back()) {
            case 's':
                unit = 1;
                break;
            case 'm':
                unit = 60;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'd':
                unit = 86400;
                break;
            default:
                return tl::make_unexpected(std::string{kAllowed});
        }
        amount.remove_suffix(1);
        const auto count = parse_number(amount);
        if (!count || *count < 1 || *count * unit > 366 * 86400) {
            return tl::make_unexpected(std::string{kAllowed} + "; an interval is 1s to 366d");
        }
        schedule.kind_ = Kind::interval;
        schedule.interval_s_ = *count * unit;
        schedule.text_ = std::string{text};
        return schedule;
    }

    std::vector<std::string_view> fields;
    for (const auto part : split(text, ' ')) {
        if (!part.empty()) fields.push_back(part);
    }
    if (fields.size() != 5) return tl::make_unexpected(std::string{kAllowed});
    std::uint64_t bits[5] = {};
    bool restricted[5] = {};
    constexpr int kLow[5] = {0, 0, 1, 1, 0};
    constexpr int kHigh[5] = {59, 23, 31, 12, 7};
    for (std::size_t i = 0; i < 5; ++i) {
        if (!parse_field(fields[i], kLow[i], kHigh[i], bits[i], restricted[i])) {
            return tl::make_unexpected(std::string{kAllowed} + "; field " + std::to_string(i + 1) +
                                       " ('" + std::string{fields[i]} + "') is not valid");
        }
    }
    if (has(bits[4], 7)) bits[4] |= 1;  // 7 is Sunday too
    schedule.kind_ = Kind::cron;
    schedule.minutes_ = bits[0];
    schedule.hours_ = static_cast<std::uint32_t>(bits[1]);
    schedule.days_ = static_cast<std::uint32_t>(bits[2]);
    schedule.months_ = static_cast<std::uint16_t>(bits[3]);
    schedule.weekdays_ = static_cast<std::uint8_t>(bits[4] & 0x7F);
    schedule.days_restricted_ = restricted[2];
    schedule.weekdays_restricted_ = restricted[4];
    schedule.text_.clear();
    for (const auto field : fields) {
        if (!schedule.text_.empty()) schedule.text_ += ' ';
        schedule.text_ += field;
    }
    // A schedule that never fires (31 2 * ... in February only) is a mistake.
    if (!schedule.next_after(Clock::time_point{})) {
        return tl::make_unexpected(std::string{kAllowed} + "; this line never fires");
    }
    return schedule;
}

std::optional<JobSchedule::Clock::time_point> JobSchedule::next_after(
    Clock::time_point after) const {
    using namespace std::chrono;
    switch (kind_) {
        case Kind::off:
            return std::nullopt;
        case Kind::interval: {
            const auto epoch_s = floor<seconds>(after.time_since_epoch()).count();
            const auto slot = epoch_s >= 0 ? epoch_s / interval_s_
                                           : -((-epoch_s + interval_s_ - 1) / interval_s_);
            return Clock::time_point{seconds{(slot + 1) * interval_s_}};
        }
        case Kind::cron:
            break;
    }
    // Minute by minute, skipping whole days and hours that cannot match; a
    // matching minute exists within 8 years (29 February on a given weekday
    // aside, which the parser's check refuses).
    auto minute = floor<minutes>(after) + minutes{1};
    const auto limit = minute + days{366 * 8};
    while (minute < limit) {
        const auto day = floor<days>(minute);
        const year_month_day date{day};
        const auto weekday_index = weekday{day}.c_encoding();
        const bool day_of_month = has(days_, static_cast<unsigned>(date.day()));
        const bool day_of_week = has(weekdays_, weekday_index);
        bool day_matches = false;
        if (days_restricted_ && weekdays_restricted_) {
            day_matches = day_of_month || day_of_week;  // classic cron: either
        } else {
            day_matches = day_of_month && day_of_week;
        }
        if (!has(months_, static_cast<unsigned>(date.month())) || !day_matches) {
            minute = day + days{1};
            continue;
        }
        const auto hour = floor<hours>(minute);
        if (!has(hours_, static_cast<unsigned>((hour - day).count()))) {
            minute = hour + hours{1};
            continue;
        }
        if (has(minutes_, static_cast<unsigned>((minute - hour).count()))) {
            return Clock::time_point{minute};
        }
        minute += minutes{1};
    }
    return std::nullopt;
}

std::int64_t JobSchedule::slot_of(Clock::time_point scheduled) const {
    using namespace std::chrono;
    const auto epoch_s = floor<seconds>(scheduled.time_since_epoch()).count();
    if (kind_ == Kind::interval) {
        return epoch_s >= 0 ? epoch_s / interval_s_ : -((-epoch_s + interval_s_ - 1) / interval_s_);
    }
    return floor<minutes>(scheduled.time_since_epoch()).count();
}

std::chrono::seconds JobSchedule::period_after(Clock::time_point scheduled) const {
    if (kind_ == Kind::interval) return std::chrono::seconds{interval_s_};
    const auto next = next_after(scheduled);
    if (!next) return std::chrono::seconds{0};
    return std::chrono::floor<std::chrono::seconds>(*next - scheduled);
}

}  // namespace nexu::config
