#include "config/config.hpp"

#include <charconv>
#include <fstream>
#include <functional>
#include <optional>
#include <string_view>

#include <unistd.h>

extern char** environ;

namespace nexu::config {

namespace {

// A problem with a value: what is allowed, without the setting's name.
using Problem = std::optional<std::string>;

struct Setting {
    std::string_view name;
    std::string_view help;
    std::function<Problem(Config&, std::string_view)> apply;
    std::function<std::string(const Config&)> show;
    bool is_secret = false;
};

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
}

template <class Int>
Problem parse_integer(std::string_view text, Int min, Int max, Int& out) {
    Int value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
        return "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    }
    out = value;
    return std::nullopt;
}

// Sizes are bytes, optionally with a KiB, MiB or GiB suffix: "1048576", "1MiB".
Problem parse_bytes(std::string_view text, std::size_t min, std::size_t max, std::size_t& out) {
    std::size_t multiplier = 1;
    for (const auto& [suffix, factor] : {std::pair<std::string_view, std::size_t>{"KiB", 1024},
                                         {"MiB", 1024 * 1024},
                                         {"GiB", 1024 * 1024 * 1024}}) {
        if (text.size() > suffix.size() && text.ends_with(suffix)) {
            multiplier = factor;
            text.remove_suffix(suffix.size());
            break;
        }
    }
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > max / multiplier ||
        value * multiplier < min) {
        return "must be a size in bytes from " + std::to_string(min) + " to " +
               std::to_string(max) + " (suffixes KiB, MiB, GiB allowed)";
    }
    out = value * multiplier;
    return std::nullopt;
}

Problem parse_milliseconds(std::string_view text,
                           std::int64_t min,
                           std::int64_t max,
                           milliseconds& out) {
    std::int64_t value = 0;
    if (auto problem = parse_integer<std::int64_t>(text, min, max, value)) {
        return *problem + " (milliseconds)";
    }
    out = milliseconds{value};
    return std::nullopt;
}

Problem parse_seconds(std::string_view text,
                      std::int64_t min,
                      std::int64_t max,
                      std::chrono::seconds& out) {
    std::int64_t value = 0;
    if (auto problem = parse_integer<std::int64_t>(text, min, max, value)) {
        return *problem + " (seconds)";
    }
    out = std::chrono::seconds{value};
    return std::nullopt;
}

// NEXU_JOB_<NAME>_SCHEDULE for the job `job`; the help names the default.
Setting job_schedule_setting(std::string_view name, std::string job, std::string_view help) {
    return Setting{name, help,
                   [job](Config& c, std::string_view v) -> Problem {
                       auto schedule = JobSchedule::parse(v);
                       if (!schedule) return schedule.error();
                       c.jobs.schedules.insert_or_assign(job, *schedule);
                       return std::nullopt;
                   },
                   [job](const Config& c) {
                       const auto found = c.jobs.schedules.find(job);
                       return found == c.jobs.schedules.end() ? std::string{"off"}
                                                              : found->second.text();
                   }};
}

Problem parse_bool(std::string_view text, bool& out) {
    if (text == "true" || text == "1" || text == "yes" || text == "on") {
        out = true;
    } else if (text == "false" || text == "0" || text == "no" || text == "off") {
        out = false;
    } else {
        return "must be true or false";
    }
    return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> items;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = trim(text.substr(0, comma));
        if (!item.empty()) items.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return items;
}

Problem parse_path(std::string_view text, std::filesystem::path& out) {
    if (text.empty()) return "must be a path";
    if (text.find('\0') != std::string_view::npos) return "must not contain NUL";
    out = std::filesystem::path{std::string{text}};
    return std::nullopt;
}

// Log file names may contain {instance} so instances sharing a logs folder never
// append to one file.
Problem parse_log_file_name(std::string_view text, std::string& out) {
    if (text.empty() || text.find('/') != std::string_view::npos || text == "." || text == "..") {
        return "must be a file name without '/' (it may contain {instance})";
    }
    out = std::string{text};
    return std::nullopt;
}

bool is_valid_instance_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ',';
        out += item;
    }
    return out;
}

std::string level_name(spdlog::level::level_enum level) {
    const auto name = spdlog::level::to_string_view(level);
    return std::string{name.data(), name.size()};
}

#define JOB_SCHEDULE_SETTING(NAME, JOB, DEFAULT)                            \
    job_schedule_setting("NEXU_JOB_" NAME "_SCHEDULE", JOB,                 \
                         "when the " JOB                                    \
                         " job runs: off, every N{s,m,h,d} or a cron line " \
                         "in UTC (default " DEFAULT ")")

const std::vector<Setting>& settings() {
    static const std::vector<Setting> table{
        {"NEXU_BIND", "address to listen on (default 127.0.0.1)",
         [](Config& c, std::string_view v) -> Problem {
             if (!parse_ip_address(v)) return "must be an IPv4 or IPv6 address";
             c.http.bind_address = std::string{v};
             return std::nullopt;
         },
         [](const Config& c) { return c.http.bind_address; }},
        {"NEXU_PORT", "TCP port to listen on (default 8080)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::uint16_t>(v, 1, 65535, c.http.port);
         },
         [](const Config& c) { return std::to_string(c.http.port); }},
        {"NEXU_IO_THREADS", "network threads (default 1)",
         [](Config& c, std::string_view v) {
             return parse_integer<unsigned>(v, 1, 256, c.http.io_threads);
         },
         [](const Config& c) { return std::to_string(c.http.io_threads); }},
        {"NEXU_WORKER_THREADS",
         "threads for reads (GET, HEAD); 0 is one per core this process may run on (default 0)",
         [](Config& c, std::string_view v) {
             return parse_integer<unsigned>(v, 0, 256, c.worker_threads);
         },
         [](const Config& c) { return std::to_string(c.worker_threads); }},
        {"NEXU_WRITE_THREADS",
         "threads for requests that change data; each waits for its group commit's "
         "fsync, so they bound how many writes share one fsync (default 64)",
         [](Config& c, std::string_view v) {
             return parse_integer<unsigned>(v, 1, 1024, c.write_threads);
         },
         [](const Config& c) { return std::to_string(c.write_threads); }},
        {"NEXU_DATA_DIR", "the shared data directory (default db)",
         [](Config& c, std::string_view v) { return parse_path(v, c.data_dir); },
         [](const Config& c) { return c.data_dir.string(); }},
        {"NEXU_STATE_DIR", "per-instance local state, outside the data directory (default state)",
         [](Config& c, std::string_view v) { return parse_path(v, c.state_dir); },
         [](const Config& c) { return c.state_dir.string(); }},
        {"NEXU_LOGS_DIR", "folder for log files (default logs)",
         [](Config& c, std::string_view v) { return parse_path(v, c.log.logs_dir); },
         [](const Config& c) { return c.log.logs_dir.string(); }},
        {"NEXU_KEY_FILE", "the 32-byte master key file, mode 0600 (default .dev/master.key)",
         [](Config& c, std::string_view v) { return parse_path(v, c.key_file); },
         [](const Config& c) { return c.key_file.string(); }},
        {"NEXU_CREATE_KEY", "create the key file when missing; development only (default false)",
         [](Config& c, std::string_view v) { return parse_bool(v, c.create_key_if_missing); },
         [](const Config& c) { return std::string{c.create_key_if_missing ? "true" : "false"}; }},
        {"NEXU_INSTANCE_ID", "this instance's name, [A-Za-z0-9._-]{1,64} (default the host name)",
         [](Config& c, std::string_view v) -> Problem {
             if (!is_valid_instance_id(v)) return "must match [A-Za-z0-9._-]{1,64}";
             c.instance_id = std::string{v};
             return std::nullopt;
         },
         [](const Config& c) { return c.instance_id; }},
        {"NEXU_MAX_BODY_BYTES", "largest JSON request body (default 1MiB; 413 beyond)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 1024, std::size_t{1} << 30, c.http.max_body_bytes);
         },
         [](const Config& c) { return std::to_string(c.http.max_body_bytes); }},
        {"NEXU_MAX_FILE_BYTES", "largest uploaded file (default 64MiB; 413 beyond)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 1, std::size_t{1} << 40, c.http.max_file_bytes);
         },
         [](const Config& c) { return std::to_string(c.http.max_file_bytes); }},
        {"NEXU_MAX_HEADER_BYTES", "largest request header block (default 16KiB; 431 beyond)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 1024, 1024 * 1024, c.http.max_header_bytes);
         },
         [](const Config& c) { return std::to_string(c.http.max_header_bytes); }},
        {"NEXU_MAX_WS_FRAME_BYTES", "largest WebSocket message (default 64KiB; close 1009 beyond)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 1024, 16 * 1024 * 1024, c.websocket.max_frame_bytes);
         },
         [](const Config& c) { return std::to_string(c.websocket.max_frame_bytes); }},
        {"NEXU_WS_REPLAY_MAX", "messages replayed on a join with since (default 1000)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 1, 100'000, c.websocket.replay_max);
         },
         [](const Config& c) { return std::to_string(c.websocket.replay_max); }},
        {"NEXU_WS_SENDS_PER_SECOND", "chat frames per second per connection (default 50)",
         [](Config& c, std::string_view v) {
             return parse_integer<unsigned>(v, 1, 1'000'000, c.websocket.sends_per_second);
         },
         [](const Config& c) { return std::to_string(c.websocket.sends_per_second); }},
        {"NEXU_WS_SEND_BURST", "chat frames a connection may send at once (default 200)",
         [](Config& c, std::string_view v) {
             return parse_integer<unsigned>(v, 1, 1'000'000, c.websocket.send_burst);
         },
         [](const Config& c) { return std::to_string(c.websocket.send_burst); }},
        {"NEXU_WS_IDLE_TIMEOUT_MS",
         "WebSocket closed after this long silent; pings at half of it (default 60000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 200, 3'600'000, c.websocket.idle_timeout);
         },
         [](const Config& c) { return std::to_string(c.websocket.idle_timeout.count()); }},
        {"NEXU_WS_MAX_QUEUED_FRAMES",
         "frames queued to one slow WebSocket client before it is disconnected (default 1024)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 16, 1'000'000, c.websocket.max_queued_frames);
         },
         [](const Config& c) { return std::to_string(c.websocket.max_queued_frames); }},
        {"NEXU_WS_WRITE_BATCH",
         "queued frames sent to one WebSocket client in a single socket write; 1 writes each "
         "frame on its own (default 64)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 1, 4096, c.websocket.write_batch);
         },
         [](const Config& c) { return std::to_string(c.websocket.write_batch); }},
        {"NEXU_CHAT_IDEMPOTENCY_LEASE_MS",
         "how long a chat client_id reservation waits for its message (default 5000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 100, 600'000, c.websocket.idempotency_lease);
         },
         [](const Config& c) { return std::to_string(c.websocket.idempotency_lease.count()); }},
        {"NEXU_MAX_CONNECTIONS", "open connections at most; more are refused (default 10000)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 1, 1'000'000, c.http.max_connections);
         },
         [](const Config& c) { return std::to_string(c.http.max_connections); }},
        {"NEXU_HEADER_TIMEOUT_MS", "time to receive a request's header block (default 10000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 100, 600'000, c.http.header_timeout);
         },
         [](const Config& c) { return std::to_string(c.http.header_timeout.count()); }},
        {"NEXU_BODY_TIMEOUT_MS", "time to receive a JSON request body (default 30000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 100, 3'600'000, c.http.body_timeout);
         },
         [](const Config& c) { return std::to_string(c.http.body_timeout.count()); }},
        {"NEXU_IDLE_TIMEOUT_MS", "keep-alive time without a request (default 60000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 100, 3'600'000, c.http.idle_timeout);
         },
         [](const Config& c) { return std::to_string(c.http.idle_timeout.count()); }},
        {"NEXU_SHUTDOWN_GRACE_MS", "time in-flight requests get after SIGTERM (default 10000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 0, 600'000, c.http.shutdown_grace);
         },
         [](const Config& c) { return std::to_string(c.http.shutdown_grace.count()); }},
        {"NEXU_CORS_ORIGINS", "comma-separated allowed browser origins (default none)",
         [](Config& c, std::string_view v) -> Problem {
             auto origins = split_list(v);
             for (const auto& origin : origins) {
                 if (!(origin.starts_with("http://") || origin.starts_with("https://")) ||
                     origin.ends_with("/")) {
                     return "must be origins like https://app.example.com, comma-separated";
                 }
             }
             c.http.cors_origins = std::move(origins);
             return std::nullopt;
         },
         [](const Config& c) { return join(c.http.cors_origins); }},
        {"NEXU_TRUSTED_PROXIES",
         "comma-separated addresses or CIDR networks whose X-Forwarded-For is believed",
         [](Config& c, std::string_view v) -> Problem {
             std::vector<Cidr> proxies;
             for (const auto& item : split_list(v)) {
                 auto cidr = Cidr::parse(item);
                 if (!cidr) return "must be IP addresses or CIDR networks, comma-separated";
                 proxies.push_back(*cidr);
             }
             c.http.trusted_proxies = std::move(proxies);
             return std::nullopt;
         },
         [](const Config& c) {
             std::vector<std::string> texts;
             for (const auto& cidr : c.http.trusted_proxies) texts.push_back(cidr.to_string());
             return join(texts);
         }},
        {"NEXU_LOG_LEVEL", "debug, info, warning or error (default info)",
         [](Config& c, std::string_view v) -> Problem {
             if (v == "debug") {
                 c.log.level = spdlog::level::debug;
             } else if (v == "info") {
                 c.log.level = spdlog::level::info;
             } else if (v == "warning" || v == "warn") {
                 c.log.level = spdlog::level::warn;
             } else if (v == "error") {
                 c.log.level = spdlog::level::err;
             } else {
                 return "must be debug, info, warning or error";
             }
             return std::nullopt;
         },
         [](const Config& c) { return level_name(c.log.level); }},
        {"NEXU_LOG_CONSOLE", "also log to standard output (default true)",
         [](Config& c, std::string_view v) { return parse_bool(v, c.log.console); },
         [](const Config& c) { return std::string{c.log.console ? "true" : "false"}; }},
        {"NEXU_LOG_FILE",
         "log file name in NEXU_LOGS_DIR; {instance} is replaced (default app.log)",
         [](Config& c, std::string_view v) { return parse_log_file_name(v, c.log.file_name); },
         [](const Config& c) { return c.log.file_name; }},
        {"NEXU_LOG_MAX_BYTES", "size at which the log file rotates (default 10MiB)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 4096, std::size_t{1} << 40, c.log.max_file_bytes);
         },
         [](const Config& c) { return std::to_string(c.log.max_file_bytes); }},
        {"NEXU_LOG_MAX_FILES", "rotated log files kept (default 5)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 1, 1000, c.log.max_files);
         },
         [](const Config& c) { return std::to_string(c.log.max_files); }},
        {"NEXU_LOG_MAX_AGE_S",
         "the log-rotation job rotates the log file once it is this old, in seconds "
         "(default 86400; 0: by size only)",
         [](Config& c, std::string_view v) {
             return parse_seconds(v, 0, 366LL * 86400, c.log.max_file_age);
         },
         [](const Config& c) { return std::to_string(c.log.max_file_age.count()); }},
        {"NEXU_LOG_RETENTION_S",
         "rotated log files older than this are deleted by the log-rotation job, in seconds "
         "(default 2592000: 30 days; 0: by NEXU_LOG_MAX_FILES only)",
         [](Config& c, std::string_view v) {
             return parse_seconds(v, 0, 3660LL * 86400, c.log.max_retained_age);
         },
         [](const Config& c) { return std::to_string(c.log.max_retained_age.count()); }},
        JOB_SCHEDULE_SETTING("INTEGRITY", "integrity", "30 3 * * *"),
        JOB_SCHEDULE_SETTING("REINDEX", "reindex", "45 4 * * *"),
        JOB_SCHEDULE_SETTING("LOG_ROTATION", "log-rotation", "every 1h"),
        JOB_SCHEDULE_SETTING("TEMP_CLEANUP", "temp-cleanup", "every 1h"),
        JOB_SCHEDULE_SETTING("BACKUP", "backup", "0 2 * * *; runs only with NEXU_BACKUP_DIR"),
        JOB_SCHEDULE_SETTING("KEY_ROTATION", "key-rotation", "every 10m"),
        {"NEXU_JOB_JITTER",
         "a scheduled run starts up to this share of its period late, N% from 0 to 50 "
         "(default 10%; at most NEXU_JOB_JITTER_MAX_S)",
         [](Config& c, std::string_view v) -> Problem {
             if (v.ends_with('%')) v.remove_suffix(1);
             unsigned percent = 0;
             if (parse_integer<unsigned>(v, 0, 50, percent))
                 return "must be a percentage from 0% to 50%";
             c.jobs.jitter_fraction = percent / 100.0;
             return std::nullopt;
         },
         [](const Config& c) {
             return std::to_string(static_cast<unsigned>(c.jobs.jitter_fraction * 100.0 + 0.5)) +
                    "%";
         }},
        {"NEXU_JOB_JITTER_MAX_S", "the largest jitter of a scheduled run, in seconds (default 300)",
         [](Config& c, std::string_view v) {
             return parse_seconds(v, 0, 86400, c.jobs.jitter_cap);
         },
         [](const Config& c) { return std::to_string(c.jobs.jitter_cap.count()); }},
        {"NEXU_JOB_TIMEOUT_S", "a job run is asked to stop after this many seconds (default 3600)",
         [](Config& c, std::string_view v) {
             return parse_seconds(v, 1, 7 * 86400, c.jobs.run_timeout);
         },
         [](const Config& c) { return std::to_string(c.jobs.run_timeout.count()); }},
        {"NEXU_JOB_LEASE_RETENTION_S",
         "slot leases of past job runs are deleted by temp-cleanup after this many seconds "
         "(default 172800)",
         [](Config& c, std::string_view v) {
             return parse_seconds(v, 5, 366LL * 86400, c.jobs.lease_retention);
         },
         [](const Config& c) { return std::to_string(c.jobs.lease_retention.count()); }},
        {"NEXU_SLOW_TASK_MS",
         "timed tasks this slow are logged at INFO, faster ones at DEBUG "
         "(default 50)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 0, 3'600'000, c.slow_task_threshold);
         },
         [](const Config& c) { return std::to_string(c.slow_task_threshold.count()); }},
        {"NEXU_SYNC_INTERVAL_MS",
         "how often reads catch up with other instances' commits "
         "(default 100)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 1, 60'000, c.sync_interval);
         },
         [](const Config& c) { return std::to_string(c.sync_interval.count()); }},
        {"NEXU_QUERY_TIMEOUT_MS", "wall-clock limit of one query, then 503 (default 5000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 10, 600'000, c.query.timeout);
         },
         [](const Config& c) { return std::to_string(c.query.timeout.count()); }},
        {"NEXU_QUERY_MAX_NODES",
         "JSONPath nodes one query may visit, then 422 (default 20000000)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::uint64_t>(v, 1000, 10'000'000'000ULL,
                                                 c.query.max_nodes_visited);
         },
         [](const Config& c) { return std::to_string(c.query.max_nodes_visited); }},
        {"NEXU_QUERY_MAX_MATERIALIZED",
         "documents a query needing the whole collection as one value may load, "
         "then 422 (default 10000)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 1, 10'000'000,
                                               c.query.max_materialized_documents);
         },
         [](const Config& c) { return std::to_string(c.query.max_materialized_documents); }},
        {"NEXU_QUERY_SNAPSHOT_BYTES",
         "memory budget of the parsed snapshots queries walk in collections without a declared "
         "index (estimated; 0 turns them off; default 256MiB)",
         [](Config& c, std::string_view v) {
             if (v == "0") {
                 c.query.snapshot_bytes = 0;
                 return Problem{};
             }
             return parse_bytes(v, 1024 * 1024, std::size_t{1} << 40, c.query.snapshot_bytes);
         },
         [](const Config& c) { return std::to_string(c.query.snapshot_bytes); }},
        {"NEXU_CACHE_BYTES", "memory budget of the decrypted-document cache (default 256MiB)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 1024 * 1024, std::size_t{1} << 40, c.storage.cache_bytes);
         },
         [](const Config& c) { return std::to_string(c.storage.cache_bytes); }},
        {"NEXU_CHECKPOINT_LOG_BYTES",
         "log bytes after which a checkpoint is written (default 64MiB)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 64 * 1024, std::size_t{1} << 40, c.storage.checkpoint_log_bytes);
         },
         [](const Config& c) { return std::to_string(c.storage.checkpoint_log_bytes); }},
        {"NEXU_CHECKPOINT_LOG_RECORDS",
         "log records after which a checkpoint is written (default 100000)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::uint64_t>(v, 100, 1'000'000'000,
                                                 c.storage.checkpoint_log_records);
         },
         [](const Config& c) { return std::to_string(c.storage.checkpoint_log_records); }},
        {"NEXU_RETENTION_GRACE_MS",
         "how long superseded commit files are kept; longer than any "
         "writer pause (default 60000)",
         [](Config& c, std::string_view v) {
             return parse_milliseconds(v, 1'000, 86'400'000, c.storage.retention_grace);
         },
         [](const Config& c) { return std::to_string(c.storage.retention_grace.count()); }},
        // Backups (issue 9): the backup job's target and retention.
        {"NEXU_BACKUP_DIR",
         "folder the backup job writes <timestamp-id>/ backups into; empty disables the job "
         "(default empty)",
         [](Config& c, std::string_view v) -> Problem {
             if (v.empty()) {
                 c.backup.dir.clear();
                 return std::nullopt;
             }
             return parse_path(v, c.backup.dir);
         },
         [](const Config& c) { return c.backup.dir.string(); }},
        {"NEXU_BACKUP_KEEP", "complete backups kept; older ones are deleted (default 7)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 1, 10'000, c.backup.keep);
         },
         [](const Config& c) { return std::to_string(c.backup.keep); }},
        {"NEXU_REDIS_URL", "redis://HOST:PORT[/DB] for chat fan-out and shared rate limits",
         [](Config& c, std::string_view v) -> Problem {
             if (!v.empty() && !v.starts_with("redis://")) return "must start with redis://";
             c.redis_url = std::string{v};
             return std::nullopt;
         },
         [](const Config& c) { return c.redis_url; }},
        {"NEXU_METRICS",
         "who may read GET /metrics: public (default), admin (an admin bearer token), or off (404)",
         [](Config& c, std::string_view v) -> Problem {
             if (v == "public") {
                 c.metrics_access = MetricsAccess::open;
             } else if (v == "admin") {
                 c.metrics_access = MetricsAccess::admin;
             } else if (v == "off") {
                 c.metrics_access = MetricsAccess::off;
             } else {
                 return "must be public, admin or off";
             }
             return std::nullopt;
         },
         [](const Config& c) {
             return std::string{c.metrics_access == MetricsAccess::open    ? "public"
                                : c.metrics_access == MetricsAccess::admin ? "admin"
                                                                           : "off"};
         }},
        {"NEXU_REGISTRATION", "open (anyone may register) or closed (only admins create users)",
         [](Config& c, std::string_view v) -> Problem {
             if (v != "open" && v != "closed") return "must be open or closed";
             c.auth.registration_open = v == "open";
             return std::nullopt;
         },
         [](const Config& c) { return std::string{c.auth.registration_open ? "open" : "closed"}; }},
        {"NEXU_ACCESS_TOKEN_TTL_S", "lifetime of access tokens in seconds (default 900)",
         [](Config& c, std::string_view v) {
             std::int64_t seconds = 0;
             auto problem = parse_integer<std::int64_t>(v, 30, 24 * 3600, seconds);
             c.auth.access_token_lifetime = std::chrono::seconds{seconds};
             return problem;
         },
         [](const Config& c) { return std::to_string(c.auth.access_token_lifetime.count()); }},
        {"NEXU_REFRESH_TOKEN_TTL_S",
         "lifetime of a login session without a refresh, in seconds (default 2592000: 30 days)",
         [](Config& c, std::string_view v) {
             std::int64_t seconds = 0;
             auto problem = parse_integer<std::int64_t>(v, 60, 365LL * 24 * 3600, seconds);
             c.auth.refresh_token_lifetime = std::chrono::seconds{seconds};
             return problem;
         },
         [](const Config& c) { return std::to_string(c.auth.refresh_token_lifetime.count()); }},
        {"NEXU_PASSWORD_THREADS",
         "threads hashing passwords (default 0: half the cores, at least 1)",
         [](Config& c, std::string_view v) {
             return parse_integer<unsigned>(v, 0, 64, c.auth.password_threads);
         },
         [](const Config& c) { return std::to_string(c.auth.password_threads); }},
        {"NEXU_PASSWORD_QUEUE",
         "logins waiting for a hashing thread at most; more get 503 (default 64)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::size_t>(v, 1, 100000, c.auth.password_queue);
         },
         [](const Config& c) { return std::to_string(c.auth.password_queue); }},
        {"NEXU_PASSWORD_OPSLIMIT", "Argon2id passes (default 2; OWASP minimum with 19MiB)",
         [](Config& c, std::string_view v) {
             return parse_integer<unsigned long long>(v, 1, 20, c.auth.password_opslimit);
         },
         [](const Config& c) { return std::to_string(c.auth.password_opslimit); }},
        {"NEXU_PASSWORD_MEMLIMIT_BYTES", "Argon2id memory per hash (default 19MiB)",
         [](Config& c, std::string_view v) {
             return parse_bytes(v, 1024 * 1024, 4ULL * 1024 * 1024 * 1024,
                                c.auth.password_memlimit_bytes);
         },
         [](const Config& c) { return std::to_string(c.auth.password_memlimit_bytes); }},
        {"NEXU_RATE_LOGIN_PER_ACCOUNT", "failed logins per account, N/PERIOD (default 10/15m)",
         [](Config& c, std::string_view v) {
             c.auth.rate_login_per_account = std::string{v};
             return Problem{};
         },
         [](const Config& c) { return c.auth.rate_login_per_account; }},
        {"NEXU_RATE_AUTH_PER_ADDRESS",
         "register, login and refresh requests per client address (default 50/10m)",
         [](Config& c, std::string_view v) {
             c.auth.rate_auth_per_address = std::string{v};
             return Problem{};
         },
         [](const Config& c) { return c.auth.rate_auth_per_address; }},
        {"NEXU_RATE_API_PER_ADDRESS", "/api/v1 requests per client address (default 100/1s)",
         [](Config& c, std::string_view v) {
             c.auth.rate_api_per_address = std::string{v};
             return Problem{};
         },
         [](const Config& c) { return c.auth.rate_api_per_address; }},
        {"NEXU_RATE_API_BURST", "burst of the /api/v1 per-address limit (default 200)",
         [](Config& c, std::string_view v) {
             return parse_integer<std::uint32_t>(v, 1, 1000000, c.auth.rate_api_burst);
         },
         [](const Config& c) { return std::to_string(c.auth.rate_api_burst); }},
        {"NEXU_ADMIN_USERNAME", "the first admin, created at start when no admin exists",
         [](Config& c, std::string_view v) {
             c.admin_username = std::string{v};
             return Problem{};
         },
         [](const Config& c) { return c.admin_username; }},
        {"NEXU_ADMIN_PASSWORD", "the first admin's password (prefer NEXU_ADMIN_PASSWORD_FILE)",
         [](Config& c, std::string_view v) {
             c.admin_password = std::string{v};
             return Problem{};
         },
         [](const Config& c) { return c.admin_password.empty() ? "" : "[redacted]"; }, true},
        {"NEXU_ADMIN_PASSWORD_FILE", "a file holding the first admin's password",
         [](Config& c, std::string_view v) { return parse_path(v, c.admin_password_file); },
         [](const Config& c) { return c.admin_password_file.string(); }},
    };
    return table;
}

const Setting* find_setting(std::string_view name) {
    for (const auto& setting : settings()) {
        if (setting.name == name) return &setting;
    }
    return nullptr;
}

Problem read_config_file(const std::filesystem::path& file,
                         std::map<std::string, std::string>& values) {
    std::ifstream in{file};
    if (!in) return "--config: cannot read " + file.string();
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        const auto text = trim(line);
        if (text.empty() || text.front() == '#') continue;
        const auto equals = text.find('=');
        const auto where = file.string() + ":" + std::to_string(line_number);
        if (equals == std::string_view::npos) return where + ": expected NAME=VALUE";
        auto value = trim(text.substr(equals + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        values[std::string{trim(text.substr(0, equals))}] = std::string{value};
    }
    return std::nullopt;
}

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0 || !is_valid_instance_id(name)) return "nexu";
    return name;
}

#undef JOB_SCHEDULE_SETTING

}  // namespace

std::map<std::string, JobSchedule, std::less<>> JobSettings::default_job_schedules() {
    std::map<std::string, JobSchedule, std::less<>> schedules;
    for (const auto& [job, text] :
         {std::pair{"integrity", "30 3 * * *"}, std::pair{"reindex", "45 4 * * *"},
          std::pair{"log-rotation", "every 1h"}, std::pair{"temp-cleanup", "every 1h"},
          std::pair{"backup", "0 2 * * *"}, std::pair{"key-rotation", "every 10m"}}) {
        schedules.insert_or_assign(job, JobSchedule::parse(text).value());
    }
    return schedules;
}

tl::expected<CommandLine, ConfigError> parse_command_line(int argc, const char* const* argv) {
    CommandLine command;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            command.action = CommandLine::Action::help;
        } else if (arg == "--version") {
            command.action = CommandLine::Action::version;
        } else if (arg == "--print-config") {
            command.action = CommandLine::Action::print_config;
        } else if (arg == "--config" && i + 1 < argc) {
            command.config_file = argv[++i];
        } else if (arg.starts_with("--config=")) {
            command.config_file = std::string{arg.substr(9)};
        } else {
            return tl::make_unexpected(
                ConfigError{"unknown argument '" + std::string{arg} +
                            "' (allowed: --config FILE, --print-config, --help, --version)"});
        }
    }
    return command;
}

tl::expected<Config, ConfigError> load(const std::map<std::string, std::string>& environment,
                                       const std::filesystem::path& config_file) {
    std::map<std::string, std::string> values;
    if (!config_file.empty()) {
        if (auto problem = read_config_file(config_file, values)) {
            return tl::make_unexpected(ConfigError{*problem});
        }
        for (const auto& [name, value] : values) {
            if (!find_setting(name)) {
                return tl::make_unexpected(ConfigError{config_file.string() + ": unknown setting " +
                                                       name + " (see nexu --help)"});
            }
        }
    }
    for (const auto& [name, value] : environment) {
        if (!name.starts_with("NEXU_")) continue;
        if (!find_setting(name)) {
            return tl::make_unexpected(
                ConfigError{"unknown setting " + name + " (see nexu --help)"});
        }
        values[name] = value;
    }

    Config config;
    config.instance_id = host_name();
    for (const auto& [name, value] : values) {
        const Setting& setting = *find_setting(name);
        if (auto problem = setting.apply(config, value)) {
            const auto shown = setting.is_secret ? std::string{"[redacted]"} : "'" + value + "'";
            return tl::make_unexpected(ConfigError{name + "=" + shown + ": " + *problem});
        }
    }
    if (!config.admin_password.empty() && !config.admin_password_file.empty()) {
        return tl::make_unexpected(
            ConfigError{"NEXU_ADMIN_PASSWORD and NEXU_ADMIN_PASSWORD_FILE: set only one of them"});
    }
    const auto placeholder = config.log.file_name.find("{instance}");
    if (placeholder != std::string::npos) {
        config.log.file_name.replace(placeholder, 10, config.instance_id);
    }
    return config;
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> environment;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text = *entry;
        const auto equals = text.find('=');
        if (equals == std::string_view::npos) continue;
        environment.emplace(text.substr(0, equals), text.substr(equals + 1));
    }
    return environment;
}

std::string settings_help() {
    std::string out;
    for (const auto& setting : settings()) {
        out += "  ";
        out += setting.name;
        out += std::string(setting.name.size() < 26 ? 26 - setting.name.size() : 1, ' ');
        out += setting.help;
        out += '\n';
    }
    return out;
}

std::string describe(const Config& config) {
    std::string out;
    for (const auto& setting : settings()) {
        out += setting.name;
        out += '=';
        out += setting.show(config);
        out += '\n';
    }
    return out;
}

}  // namespace nexu::config
