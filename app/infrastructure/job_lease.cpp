#include "infrastructure/job_lease.hpp"

#include <charconv>
#include <optional>

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace nexu::infrastructure {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSlotPrefix = "slot-";
constexpr std::string_view kRunningPrefix = "running.";
constexpr int kStartAttempts = 4;

std::int64_t unix_ms(std::chrono::system_clock::time_point when) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

std::optional<std::uint64_t> parse_suffix(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix)) return std::nullopt;
    name.remove_prefix(prefix.size());
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
    if (ec != std::errc{} || end != name.data() + name.size() || name.empty()) return std::nullopt;
    return value;
}

// The `expires=<unix ms>` line of a running marker.
std::optional<std::int64_t> parse_expiry(std::string_view text) {
    const auto at = text.find("expires=");
    if (at == std::string_view::npos) return std::nullopt;
    text.remove_prefix(at + 8);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{}) return std::nullopt;
    return value;
}

// Job names come from main's registrations, never from a request, but the
// name becomes a directory: refuse anything that could leave `_leases`.
bool is_safe_job_name(std::string_view job) {
    if (job.empty() || job.size() > 128 || job.front() == '.') return false;
    for (const char c : job) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

JobLease::JobLease(Env& env, const fs::path& data_dir, std::string instance_id)
    : env_(env),
      leases_dir_(data_dir / std::string{kDirName}),
      instance_id_(std::move(instance_id)),
      temp_tag_(instance_id_ + "-" + std::to_string(::getpid())) {}

fs::path JobLease::job_dir(std::string_view job) const {
    return leases_dir_ / std::string{job};
}

Result<void> JobLease::ensure_dirs(const fs::path& dir) {
    if (auto made = env_.make_dir(leases_dir_); !made) return made;
    return env_.make_dir(dir);
}

config::JobLeases::Outcome JobLease::claim_slot(std::string_view job, std::int64_t slot) {
    if (!is_safe_job_name(job) || slot < 0) return Outcome::failed;
    const auto dir = job_dir(job);
    if (auto made = ensure_dirs(dir); !made) {
        spdlog::warn("job lease: job={} cannot create the lease directory: {}", job,
                     made.error().context);
        return Outcome::failed;
    }
    std::string body = "instance=";
    body += instance_id_;
    body += "\nclaimed=";
    body += std::to_string(unix_ms(std::chrono::system_clock::now()));
    body += '\n';
    const auto name = std::string{kSlotPrefix} + std::to_string(slot);
    auto created = create_durable(env_, dir, name, body, temp_tag_);
    if (!created) {
        if (created.error().code == Errc::conflict) return Outcome::taken;
        spdlog::warn("job lease: job={} slot={} cannot create the lease: {}", job, slot,
                     created.error().context);
        return Outcome::failed;
    }
    if (auto synced = env_.sync_dir(dir); !synced) {
        spdlog::warn("job lease: job={} slot={} directory sync failed: {}", job, slot,
                     synced.error().context);
    }
    return Outcome::won;
}

config::JobLeases::Outcome JobLease::start_run(std::string_view job,
                                               std::chrono::system_clock::time_point expires,
                                               std::string& token) {
    if (!is_safe_job_name(job)) return Outcome::failed;
    const auto dir = job_dir(job);
    if (auto made = ensure_dirs(dir); !made) {
        spdlog::warn("job lease: job={} cannot create the lease directory: {}", job,
                     made.error().context);
        return Outcome::failed;
    }
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
        auto names = env_.list_dir(dir);
        if (!names) {
            spdlog::warn("job lease: job={} cannot list leases: {}", job, names.error().context);
            return Outcome::failed;
        }
        std::uint64_t highest = 0;
        for (const auto& name : *names) {
            if (auto generation = parse_suffix(name, kRunningPrefix))
                highest = std::max(highest, *generation);
        }
        if (highest > 0) {
            const auto current = dir / (std::string{kRunningPrefix} + std::to_string(highest));
            auto text = env_.read_file(current);
            if (!text) {
                if (text.error().code == Errc::not_found)
                    continue;  // released meanwhile: look again
                spdlog::warn("job lease: job={} cannot read the running marker: {}", job,
                             text.error().context);
                return Outcome::failed;
            }
            const auto expiry = parse_expiry(*text);
            // A marker without a readable expiry is treated as expired: it was
            // not written by this protocol (create_durable publishes whole files).
            if (expiry && *expiry > unix_ms(std::chrono::system_clock::now()))
                return Outcome::taken;
        }
        const auto name = std::string{kRunningPrefix} + std::to_string(highest + 1);
        std::string body = "instance=";
        body += instance_id_;
        body += "\nexpires=";
        body += std::to_string(unix_ms(expires));
        body += '\n';
        auto created = create_durable(env_, dir, name, body, temp_tag_);
        if (!created) {
            if (created.error().code == Errc::conflict) return Outcome::taken;
            spdlog::warn("job lease: job={} cannot create the running marker: {}", job,
                         created.error().context);
            return Outcome::failed;
        }
        (void)env_.sync_dir(dir);
        // Older generations are expired or released: tidy them away.
        for (const auto& old : *names) {
            const auto generation = parse_suffix(old, kRunningPrefix);
            if (generation && *generation <= highest) (void)env_.remove(dir / old);
        }
        token = name;
        return Outcome::won;
    }
    return Outcome::taken;
}

void JobLease::renew_run(std::string_view job,
                         const std::string& token,
                         std::chrono::system_clock::time_point expires) {
    if (token.empty() || !is_safe_job_name(job) || !parse_suffix(token, kRunningPrefix)) return;
    std::string body = "instance=";
    body += instance_id_;
    body += "\nexpires=";
    body += std::to_string(unix_ms(expires));
    body += '\n';
    auto replaced = replace_file(env_, job_dir(job), token, body, temp_tag_, true);
    if (!replaced) {
        spdlog::warn("job lease: job={} cannot renew the running marker: {}", job,
                     replaced.error().context);
    }
}

void JobLease::finish_run(std::string_view job, const std::string& token) {
    if (token.empty() || !is_safe_job_name(job) || !parse_suffix(token, kRunningPrefix)) return;
    auto removed = env_.remove(job_dir(job) / token);
    if (!removed && removed.error().code != Errc::not_found) {
        spdlog::warn(
            "job lease: job={} cannot remove the running marker (it expires on its own): {}", job,
            removed.error().context);
    }
}

Result<std::vector<std::string>> JobLease::slot_leases(std::string_view job) {
    auto names = env_.list_dir(job_dir(job));
    if (!names) return tl::make_unexpected(names.error());
    std::vector<std::string> out;
    for (auto& name : *names) {
        if (parse_suffix(name, kSlotPrefix)) out.push_back(std::move(name));
    }
    return out;
}

Result<std::size_t> JobLease::remove_old(std::chrono::system_clock::time_point older_than) {
    auto jobs = env_.list_dir(leases_dir_);
    if (!jobs) {
        if (jobs.error().code == Errc::not_found) return std::size_t{0};
        return tl::make_unexpected(jobs.error());
    }
    const auto cutoff_s =
        std::chrono::duration_cast<std::chrono::seconds>(older_than.time_since_epoch()).count();
    const auto now_ms = unix_ms(std::chrono::system_clock::now());
    std::size_t removed = 0;
    for (const auto& job : *jobs) {
        if (!is_safe_job_name(job)) continue;
        const auto dir = job_dir(job);
        auto names = env_.list_dir(dir);
        if (!names) continue;  // not a directory, or gone
        for (const auto& name : *names) {
            const auto path = dir / name;
            bool is_old = false;
            if (parse_suffix(name, kSlotPrefix) || is_temp_name(name)) {
                auto info = env_.stat(path);
                is_old = info && info->modified_unix_s < cutoff_s;
            } else if (parse_suffix(name, kRunningPrefix)) {
                auto text = env_.read_file(path);
                const auto expiry = text ? parse_expiry(*text) : std::nullopt;
                is_old = text && (!expiry || *expiry < now_ms);
            }
            if (!is_old) continue;
            if (auto gone = env_.remove(path); gone) ++removed;
        }
    }
    return removed;
}

}  // namespace nexu::infrastructure
