#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "config/cidr.hpp"
#include "config/job_schedule.hpp"
#include "config/logger.hpp"

namespace nexu::config {

using std::chrono::milliseconds;

struct HttpSettings {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 8080;
    unsigned io_threads = 1;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_file_bytes = 64 * 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_connections = 10000;
    milliseconds header_timeout{10'000};  // from the first byte to the end of the header block
    milliseconds body_timeout{30'000};    // the whole body of a JSON request
    milliseconds idle_timeout{60'000};    // keep-alive connection with no request under way
    milliseconds shutdown_grace{10'000};  // in-flight requests finish within this after SIGTERM
    std::vector<std::string> cors_origins;
    std::vector<Cidr> trusted_proxies;
};

struct WebSocketSettings {
    std::size_t max_frame_bytes = 64 * 1024;
    // Chat over WebSocket (API.md): replay on join, per-connection send rate,
    // keep-alive, the outgoing queue bound, the client_id reservation lease.
    std::size_t replay_max = 1000;
    unsigned sends_per_second = 50;
    unsigned send_burst = 200;
    milliseconds idle_timeout{60'000};  // pings at half of it, closed when silent this long
    std::size_t max_queued_frames = 1024;
    milliseconds idempotency_lease{5'000};
    // Queued frames sent to one client in a single socket write (1: one write per frame).
    std::size_t write_batch = 64;
};

// The encrypted store's budgets and thresholds (docs/storage.md).
struct StorageSettings {
    std::size_t cache_bytes = 256 * 1024 * 1024;          // decrypted-document cache
    std::size_t checkpoint_log_bytes = 64 * 1024 * 1024;  // log since the last checkpoint...
    std::uint64_t checkpoint_log_records = 100'000;       // ...or records, whichever first
    milliseconds retention_grace{60'000};  // superseded commit files are kept this long
};

// Bounds of one JSONPath query (POST /query): past the time a query stops
// with 503, past the work budget with 422 (API.md "Collections and documents").
struct QueryLimits {
    milliseconds timeout{5000};
    std::uint64_t max_nodes_visited = 20'000'000;
    std::size_t max_materialized_documents = 10'000;  // queries needing `$` as a whole
    std::size_t snapshot_bytes = std::size_t{256} << 20;  // repositories/field_indexes.hpp
};

// Backups (docs/storage.md "Backups"): the backup job's folder (empty: the
// job is disabled) and how many complete backups it keeps.
struct BackupSettings {
    std::filesystem::path dir;
    std::size_t keep = 7;
};

// Accounts: registration, tokens, password hashing and the rate limits of
// API.md. Rate limits are "N/PERIOD" texts, parsed (and refused with exit 2)
// by domain::RateLimit in main.
struct AuthSettings {
    bool registration_open = true;
    std::chrono::seconds access_token_lifetime{15 * 60};
    std::chrono::seconds refresh_token_lifetime{30 * 24 * 3600};
    unsigned password_threads = 0;  // 0: half the cores, at least 1
    std::size_t password_queue = 64;
    unsigned long long password_opslimit = 2;              // OWASP minimum: t=2 with m=19 MiB
    std::size_t password_memlimit_bytes = 19 * 1024 * 1024;
    std::string rate_login_per_account = "10/15m";
    std::string rate_auth_per_address = "50/10m";
    std::string rate_api_per_address = "100/1s";
    std::uint32_t rate_api_burst = 200;
};

// The scheduler and its jobs (NEXU_JOB_*): schedules by job name, jitter,
// the run timeout, and how long old slot leases are kept.
struct JobSettings {
    std::map<std::string, JobSchedule, std::less<>> schedules = default_job_schedules();
    double jitter_fraction = 0.1;  // NEXU_JOB_JITTER "10%"
    std::chrono::seconds jitter_cap{300};
    std::chrono::seconds run_timeout{3600};
    std::chrono::seconds lease_retention{2 * 24 * 3600};

    // integrity daily, reindex daily, log-rotation and temp-cleanup hourly,
    // backup daily (only runs when the backup job is registered: NEXU_BACKUP_DIR),
    // key-rotation every 10 minutes (it does nothing when nothing is left to re-encrypt).
    static std::map<std::string, JobSchedule, std::less<>> default_job_schedules();
};

// Who may read GET /metrics (NEXU_METRICS): everyone, nobody (404), or only
// callers with an admin token (operators scrape with a bearer token).
enum class MetricsAccess { open, off, admin };

// Everything `nexu` and `nexuctl` read at start: environment (NEXU_*) over
// an optional config file over the defaults. Immutable after load.
struct Config {
    HttpSettings http;
    WebSocketSettings websocket;
    LogSettings log;
    // GET and HEAD handlers: short CPU work, one thread per core this process
    // may run on (0); more only add context switches (api/worker_pools.hpp).
    unsigned worker_threads = 0;
    // Requests that change data wait for the store's group commit, which
    // gathers only the writes whose threads are waiting at that moment, so
    // they get many more threads than there are cores (api/worker_pools.hpp).
    unsigned write_threads = 64;
    std::filesystem::path data_dir = "db";
    std::filesystem::path state_dir = "state";
    std::filesystem::path key_file = ".dev/master.key";
    bool create_key_if_missing = false;  // development only: `make run` turns it on
    std::string instance_id;             // defaults to the host name
    milliseconds slow_task_threshold{50};
    milliseconds sync_interval{100};
    StorageSettings storage;
    QueryLimits query;
    AuthSettings auth;
    JobSettings jobs;
    BackupSettings backup;
    std::string redis_url;
    std::string admin_username;
    std::string admin_password;  // secret: never printed or logged
    std::filesystem::path admin_password_file;
    MetricsAccess metrics_access = MetricsAccess::open;  // NEXU_METRICS
};

struct ConfigError {
    std::string message;  // names the setting and what is allowed
};

// What the command line asks for; settings themselves come from the environment
// and the --config file, so that every deployment tool can set them the same way.
struct CommandLine {
    enum class Action { run, help, version, print_config } action = Action::run;
    std::filesystem::path config_file;
};

tl::expected<CommandLine, ConfigError> parse_command_line(int argc, const char* const* argv);

// Builds the Config from `environment` (name → value; unknown NEXU_* names are
// errors) over the KEY=VALUE lines of `config_file` (when not empty).
tl::expected<Config, ConfigError> load(const std::map<std::string, std::string>& environment,
                                       const std::filesystem::path& config_file);

// The process environment as a map, for load().
std::map<std::string, std::string> process_environment();

// `nexu --help`: every setting with its default and what it accepts.
std::string settings_help();
// `nexu --print-config`: every setting's effective value, secrets redacted.
std::string describe(const Config& config);

}  // namespace nexu::config
