// nexu: the server. Wiring only: read the settings once, prepare the data
// directory and the key, build the routes, serve until SIGTERM/SIGINT, then
// drain in-flight requests within the grace period and exit 0.
#include <sched.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <tuple>
#include <variant>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "api/auth_routes.hpp"
#include "api/chat_routes.hpp"
#include "api/collection_routes.hpp"
#include "api/document_routes.hpp"
#include "api/file_routes.hpp"
#include "api/job_routes.hpp"
#include "api/listener.hpp"
#include "api/query_routes.hpp"
#include "api/rate_limits.hpp"
#include "api/system_routes.hpp"
#include "api/user_routes.hpp"
#include "config/config.hpp"
#include "config/metrics.hpp"
#include "config/scheduler.hpp"
#include "config/timing.hpp"
#include "config/version.hpp"
#include "domain/password_policy.hpp"
#include "domain/token_bucket.hpp"
#include "infrastructure/backup.hpp"
#include "infrastructure/blob_store.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/data_dir_probe.hpp"
#include "infrastructure/job_lease.hpp"
#include "infrastructure/jwt_codec.hpp"
#include "infrastructure/password_hasher.hpp"
#include "infrastructure/master_key.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/redis_client.hpp"
#include "infrastructure/redis_rate_limiter.hpp"
#include "infrastructure/store.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/account_service.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/message_repository.hpp"
#include "repositories/room_repository.hpp"
#include "sockets/chat_hub.hpp"
#include "repositories/document_repository.hpp"
#include "repositories/document_service.hpp"
#include "repositories/field_indexes.hpp"
#include "repositories/parsed_document_cache.hpp"
#include "repositories/query_service.hpp"
#include "repositories/file_repository.hpp"
#include "repositories/job_state_repository.hpp"
#include "repositories/key_rotation.hpp"
#include "repositories/maintenance_jobs.hpp"
#include "repositories/system_report.hpp"
#include "repositories/role_repository.hpp"
#include "repositories/session_repository.hpp"
#include "repositories/user_repository.hpp"

namespace {

namespace net = boost::asio;
using namespace nexu;

constexpr int kBadSetting = 2;
constexpr int kCannotStart = 1;

int fail_start(const std::string& message) {
    spdlog::critical("cannot start: {}", message);
    spdlog::default_logger()->flush();  // not shutdown(): the store may still log as it closes
    std::cerr << "nexu: " << message << '\n';
    return kCannotStart;
}

std::optional<std::string> prepare_directory(const std::filesystem::path& dir,
                                             std::string_view setting) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return std::string{setting} + ": cannot create " + dir.string() + ": " + ec.message();
    return std::nullopt;
}

// Creates the key file on first start when NEXU_CREATE_KEY allows it (development).
Result<void> ensure_key_file(const config::Config& config) {
    auto key = infrastructure::load_master_key(config.key_file);
    if (key || key.error().code != Errc::not_found || !config.create_key_if_missing) {
        return key ? Result<void>{} : tl::make_unexpected(key.error());
    }
    if (auto created = infrastructure::create_master_key(config.key_file); !created) {
        return tl::make_unexpected(created.error());
    }
    spdlog::warn("created a development master key at {} (NEXU_CREATE_KEY=true); keep it safe, "
                 "the data cannot be read without it",
                 config.key_file.string());
    return {};
}

// Opens the store unless the key does not open this data directory: then the
// server still serves, and /ready answers 503 naming the key, so an operator
// sees the mistake instead of a crash loop. nullptr in that case.
Result<std::unique_ptr<infrastructure::Store>> open_store(const config::Config& config,
                                                          const infrastructure::Crypto& crypto) {
    auto& env = infrastructure::default_env();
    if (auto matches = infrastructure::check_data_dir_key(env, config.data_dir, crypto);
        !matches && matches.error().code == Errc::invalid_argument) {
        spdlog::error("NEXU_KEY_FILE: {}; not opening the store", matches.error().context);
        return std::unique_ptr<infrastructure::Store>{};
    }
    return config::timed("open_store", [&] {
        return infrastructure::Store::open(env, config.data_dir, config.state_dir, crypto,
                                           infrastructure::store_settings_from(config));
    });
}

// The rate limits of the settings; a bad one exits 2 naming it.
std::variant<api::RateLimits::Settings, std::string> rate_limit_settings(const config::AuthSettings& auth) {
    api::RateLimits::Settings limits;
    for (const auto& [text, setting, burst, out] :
         {std::tuple{&auth.rate_api_per_address, "NEXU_RATE_API_PER_ADDRESS", auth.rate_api_burst,
                     &limits.api_per_address},
          std::tuple{&auth.rate_auth_per_address, "NEXU_RATE_AUTH_PER_ADDRESS", 0u,
                     &limits.auth_per_address},
          std::tuple{&auth.rate_login_per_account, "NEXU_RATE_LOGIN_PER_ACCOUNT", 0u,
                     &limits.login_failures_per_account}}) {
        auto parsed = domain::RateLimit::parse(*text, burst);
        if (!parsed) return std::string{setting} + ": " + parsed.error().context;
        *out = *parsed;
    }
    return limits;
}

// The cores this process may run on (taskset, cpusets), which
// hardware_concurrency() does not see.
unsigned available_cores() {
    cpu_set_t set{};
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
    }
    return std::max(1U, std::thread::hardware_concurrency());
}

// Accounts over the store: users, roles, sessions, the Argon2id pool and the
// JWT codec, wired into the AccountService the routes use.
struct Accounts {
    Accounts(repositories::DocumentRepository& documents,
             const infrastructure::Crypto& crypto,
             const config::AuthSettings& auth,
             net::thread_pool& workers)
        : users(documents, crypto),
          roles(documents),
          sessions(documents, crypto, ids, auth.refresh_token_lifetime),
          hasher({auth.password_threads != 0 ? auth.password_threads
                                              : std::max(1u, std::thread::hardware_concurrency() / 2),
                  auth.password_queue, auth.password_opslimit, auth.password_memlimit_bytes}),
          tokens([&crypto](std::uint32_t version) {
                     return crypto.subkey(infrastructure::KeyPurpose::tokens, version);
                 },
                 crypto.current_key_id()),
          service(users, roles, sessions, hasher, tokens, ids,
                  [&workers](std::function<void()> work) { net::post(workers, std::move(work)); },
                  {auth.access_token_lifetime, auth.refresh_token_lifetime, std::chrono::seconds{60}}) {}

    infrastructure::UuidV7Generator ids;
    repositories::UserRepository users;
    repositories::RoleRepository roles;
    repositories::SessionRepository sessions;
    infrastructure::PasswordHasher hasher;
    infrastructure::JwtCodec tokens;
    repositories::AccountService service;
};

// The first admin from NEXU_ADMIN_USERNAME and NEXU_ADMIN_PASSWORD(_FILE),
// created when no user holds the admin role. A message naming the setting
// when it cannot be.
std::optional<std::string> ensure_first_admin(const config::Config& config,
                                              Accounts& accounts,
                                              const domain::PasswordPolicy& policy) {
    if (config.admin_username.empty()) return std::nullopt;
    std::string password = config.admin_password;
    if (!config.admin_password_file.empty()) {
        std::ifstream file{config.admin_password_file};
        if (!file || !std::getline(file, password)) {
            return "NEXU_ADMIN_PASSWORD_FILE: cannot read " + config.admin_password_file.string();
        }
    }
    if (password.empty()) return "NEXU_ADMIN_PASSWORD: set it or NEXU_ADMIN_PASSWORD_FILE with NEXU_ADMIN_USERNAME";
    if (auto why = domain::username_problem(config.admin_username)) return "NEXU_ADMIN_USERNAME: " + *why;
    if (auto why = policy.problem(password, config.admin_username)) return "NEXU_ADMIN_PASSWORD: the password " + *why;

    if (auto existing = accounts.users.find_by_username(config.admin_username)) {
        if (!existing->has_role("admin")) {
            spdlog::warn("NEXU_ADMIN_USERNAME names {}, an existing user without the admin role; not changed",
                         config.admin_username);
        }
        return std::nullopt;
    }
    auto has_admin = accounts.users.any_holds_role("admin");
    if (!has_admin) return "cannot look for an admin: " + has_admin.error().context;
    if (*has_admin) return std::nullopt;
    repositories::AccountService::NewUser admin;
    admin.username = config.admin_username;
    admin.password = std::move(password);
    admin.roles = {"admin"};
    auto created = accounts.service.create_user_now(std::move(admin));
    if (!created && created.error().code != Errc::conflict) {  // conflict: another instance made it
        return "cannot create the first admin: " + created.error().context;
    }
    if (created) spdlog::info("created the first admin {}", config.admin_username);
    return std::nullopt;
}

// Polls until the last connection has gone or the grace period is over, then
// stops the io_context so main can return.
void stop_when_drained(net::io_context& io,
                       net::steady_timer& timer,
                       const api::Listener& listener,
                       const sockets::ChatHub* chat,
                       std::chrono::steady_clock::time_point deadline) {
    const auto open = listener.connection_count() + (chat ? chat->session_count() : 0);
    if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
        if (open != 0) spdlog::warn("grace period over with {} connections open", open);
        return io.stop();
    }
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([&io, &timer, &listener, chat, deadline](boost::system::error_code ec) {
        if (!ec) stop_when_drained(io, timer, listener, chat, deadline);
    });
}

}  // namespace

int main(int argc, char** argv) {
    const auto command = config::parse_command_line(argc, argv);
    if (!command) {
        std::cerr << "nexu: " << command.error().message << '\n';
        return kBadSetting;
    }
    if (command->action == config::CommandLine::Action::help) {
        std::cout << "usage: nexu [--config FILE] [--print-config] [--help] [--version]\n\n"
                     "Settings come from NEXU_* environment variables over the NAME=VALUE lines\n"
                     "of --config FILE over the defaults:\n\n"
                  << config::settings_help();
        return 0;
    }
    if (command->action == config::CommandLine::Action::version) {
        std::cout << "nexu " << kVersion << '\n';
        return 0;
    }
    const auto config = config::load(config::process_environment(), command->config_file);
    if (!config) {
        std::cerr << "nexu: " << config.error().message << '\n';
        return kBadSetting;
    }
    const auto limits_or_problem = rate_limit_settings(config->auth);
    if (const auto* problem = std::get_if<std::string>(&limits_or_problem)) {
        std::cerr << "nexu: " << *problem << '\n';
        return kBadSetting;
    }
    if (command->action == config::CommandLine::Action::print_config) {
        std::cout << config::describe(*config);
        return 0;
    }

    infrastructure::disable_core_dumps();  // before any key material is read
    std::signal(SIGPIPE, SIG_IGN);
    if (auto problem = prepare_directory(config->log.logs_dir, "NEXU_LOGS_DIR")) {
        std::cerr << "nexu: " << *problem << '\n';
        return kCannotStart;
    }
    if (auto problem = config::init_logging(config->log)) {
        std::cerr << "nexu: " << *problem << '\n';
        return kCannotStart;
    }
    config::set_slow_task_threshold(config->slow_task_threshold);
    if (sodium_init() < 0) return fail_start("libsodium failed to initialise");

    for (const auto& [dir, setting] : {std::pair{config->data_dir, "NEXU_DATA_DIR"},
                                       std::pair{config->state_dir, "NEXU_STATE_DIR"}}) {
        if (auto problem = prepare_directory(dir, setting)) return fail_start(*problem);
    }
    if (auto probe = infrastructure::probe_data_dir(config->data_dir, config->instance_id);
        !probe) {
        return fail_start("NEXU_DATA_DIR: " + config->data_dir.string() +
                          " does not take a durable write: " + probe.error().context);
    }
    if (auto key_file = ensure_key_file(*config); !key_file) {
        return fail_start(key_file.error().context);
    }
    auto crypto = infrastructure::Crypto::from_key_file(config->key_file);
    if (!crypto) return fail_start(crypto.error().context);
    auto store = open_store(*config, **crypto);
    if (!store) return fail_start("NEXU_DATA_DIR: cannot open the store: " + store.error().context);
    std::optional<repositories::DocumentRepository> documents;
    if (*store) documents.emplace(**store);

    api::Router router;

    // ---- Data API: collections, documents, JSONPath queries, field indexes (issue 7) ----
    // Not wired when the key does not open the data directory (/ready says why).
    infrastructure::UuidV7Generator document_ids;
    std::optional<repositories::CollectionRepository> collections;
    std::optional<repositories::ParsedDocumentCache> parsed_documents;
    std::optional<repositories::FieldIndexes> field_indexes;
    std::optional<repositories::DocumentService> data_documents;
    std::optional<repositories::QueryService> data_queries;
    if (*store) {
        collections.emplace(**store);
        parsed_documents.emplace(config->storage.cache_bytes);
        field_indexes.emplace(**store, *parsed_documents, config->sync_interval,
                              config->query.snapshot_bytes);
        data_documents.emplace(**store, *collections, *parsed_documents, document_ids,
                               &*field_indexes);
        data_queries.emplace(**store, *data_documents, *parsed_documents, &*field_indexes,
                             repositories::QuerySettings{config->query.timeout,
                                                         config->query.max_nodes_visited,
                                                         config->query.max_materialized_documents});
        api::add_collection_routes(router, *collections, *data_documents, &*field_indexes);
        api::add_document_routes(router, *data_documents);
        api::add_query_routes(router, *data_queries);
    }
    // ---- end of the data API block ----
    std::vector<api::ReadinessCheck> checks;
    checks.push_back(
        {"data_dir", [&config = *config]() -> std::optional<std::string> {
             auto probe = config::timed("ready_probe", [&] {
                 return infrastructure::probe_data_dir(config.data_dir, config.instance_id);
             });
             if (probe) return std::nullopt;
             spdlog::warn("readiness: data dir probe failed: {}", probe.error().context);
             return probe.error().code == Errc::unavailable
                        ? "data directory unavailable (no space or stale handle)"
                        : "data directory not writable";
         }});
    checks.push_back({"key", [&documents]() -> std::optional<std::string> {
                          if (!documents) return "key does not decrypt the data directory";
                          auto checked = documents->check_key();
                          if (checked) return std::nullopt;
                          spdlog::warn("readiness: key check failed: {}", checked.error().context);
                          return checked.error().code == Errc::invalid_argument
                                     ? "key does not decrypt the data directory"
                                     : "key check could not read the data directory";
                      }});
    // ---- metrics (ops): build info and scrape-time process metrics; NEXU_METRICS ----
    metrics::add_process_metrics(metrics::registry(), kVersion, config->instance_id);
    api::add_system_routes(router,
                           {kVersion, config->instance_id, std::chrono::steady_clock::now(),
                            config->metrics_access},
                           std::move(checks));

    // Accounts, when the store is open.
    const unsigned read_threads =
        config->worker_threads != 0 ? config->worker_threads : available_cores();
    net::thread_pool workers{read_threads};
    net::thread_pool writers{config->write_threads};  // requests that change data (worker_pools.hpp)
    api::RateLimits rate_limits{std::get<api::RateLimits::Settings>(limits_or_problem)};
    // With NEXU_REDIS_URL the auth limits are shared by every instance; keys
    // are keyed hashes, so Redis never holds a username or an address.
    std::unique_ptr<infrastructure::RedisClient> rate_redis;
    std::unique_ptr<infrastructure::RedisRateLimiter> shared_limits;
    if (!config->redis_url.empty()) {
        auto endpoint = infrastructure::RedisEndpoint::parse(config->redis_url);
        if (!endpoint) return fail_start("NEXU_REDIS_URL: " + endpoint.error().context);
        rate_redis = std::make_unique<infrastructure::RedisClient>(*endpoint);
        shared_limits = std::make_unique<infrastructure::RedisRateLimiter>(*rate_redis);
        rate_limits.share_through([&limiter = *shared_limits, &crypto = **crypto](
                                      std::string_view key, const domain::RateLimit& limit, bool peek) {
            return limiter.decide(crypto.keyed_hash(infrastructure::KeyPurpose::lookups, key), limit, 1, peek);
        });
    }
    const domain::PasswordPolicy password_policy;
    std::optional<Accounts> accounts;
    api::Authenticate authenticate;
    if (documents) {
        accounts.emplace(*documents, **crypto, config->auth, writers);
        if (auto problem = ensure_first_admin(*config, *accounts, password_policy)) {
            std::cerr << "nexu: " << *problem << '\n';
            spdlog::critical("cannot start: {}", *problem);
            return problem->starts_with("NEXU_") ? kBadSetting : kCannotStart;
        }
        api::add_auth_routes(router, accounts->service, rate_limits, password_policy,
                             {config->auth.registration_open});
        api::add_user_routes(router, accounts->service, accounts->users, accounts->roles);
        authenticate = [&service = accounts->service](std::string_view token) {
            return service.authenticate(token);
        };
    }
    // ---- Chat (issue 8): rooms and per-room message logs on the store, the
    // REST routes, and the hub that GET /ws upgrades are handed to. REST posts
    // reach WebSocket members through the hub; messages other instances store
    // arrive by tailing the room logs. ----
    // With NEXU_REDIS_URL, a commit is also published on Redis so other
    // instances tail the room at once instead of at their next poll; delivery
    // never depends on it. Two clients: the publisher outlives the hub (whose
    // threads publish), the subscriber goes before it (its thread wakes the hub).
    std::unique_ptr<infrastructure::RedisClient> chat_redis_publisher;
    std::unique_ptr<infrastructure::RedisClient> chat_redis_subscriber;
    constexpr std::string_view kChatChannel = "nexu:chat";
    std::optional<repositories::RoomRepository> chat_rooms;
    std::optional<repositories::MessageRepository> chat_messages;
    std::optional<repositories::PresenceRepository> chat_presence;  // with Redis
    std::unique_ptr<sockets::ChatHub> chat_hub;
    if (accounts) {
        chat_rooms.emplace(**store, accounts->ids);
        chat_messages.emplace(**store, accounts->ids, config->websocket.idempotency_lease);
        api::ChatRouteHooks chat_route_hooks;
        chat_route_hooks.find_username =
            [&users = accounts->users](std::string_view id) -> Result<std::string> {
            auto user = users.find(id);
            if (!user) return tl::make_unexpected(user.error());
            return user->username;
        };
        chat_route_hooks.delivered = [&chat_hub](const repositories::ChatMessage& message) {
            if (chat_hub) chat_hub->committed(message);
        };
        api::add_chat_routes(router, *chat_rooms, *chat_messages, std::move(chat_route_hooks));
        sockets::ChatHub::Hooks chat_hooks;
        chat_hooks.by_bearer = authenticate;
        chat_hooks.by_ticket = [&service = accounts->service](std::string_view ticket) {
            return service.redeem_ws_ticket(ticket);
        };
        if (!config->redis_url.empty()) {
            auto endpoint = infrastructure::RedisEndpoint::parse(config->redis_url);
            if (!endpoint) {
                std::cerr << "nexu: NEXU_REDIS_URL: " << endpoint.error().context << '\n';
                return kBadSetting;
            }
            chat_redis_publisher = std::make_unique<infrastructure::RedisClient>(*endpoint);
            chat_redis_subscriber = std::make_unique<infrastructure::RedisClient>(*endpoint);
            chat_hooks.publish = [&redis = *chat_redis_publisher, kChatChannel](
                                     const std::string& room, std::uint64_t seq) {
                std::string note = room;
                note += ':';
                note += std::to_string(seq);
                (void)redis.publish(kChatChannel, note);  // best effort: tailing is the backstop
            };
            // Presence per user across instances: in Redis, events on the same channel.
            chat_presence.emplace(*chat_redis_publisher, config->instance_id);
            chat_hooks.presence = &*chat_presence;
            chat_hooks.publish_presence = [&redis = *chat_redis_publisher,
                                           kChatChannel](const std::string& note) {
                (void)redis.publish(kChatChannel, note);  // best effort, like the rest of presence
            };
        }
        chat_hub = std::make_unique<sockets::ChatHub>(*chat_rooms, *chat_messages, writers,
                                                      config->websocket, config->http.cors_origins,
                                                      std::move(chat_hooks), config->sync_interval);
        if (chat_redis_subscriber) {
            auto& hub = *chat_hub;
            chat_redis_subscriber->subscribe(
                std::string{kChatChannel},
                [&hub](std::string_view, std::string_view note) {
                    if (note.starts_with('{')) return hub.remote_presence(note);  // presence
                    hub.notify(note.substr(0, note.find(':')));
                },
                [&hub] { hub.notify({}); });  // (re)subscribed: catch up on what was missed
        }
    }
    api::UpgradeHandler upgrade_to_chat;
    if (chat_hub) {
        upgrade_to_chat = [&chat_hub](api::Upgrade upgrade) {
            chat_hub->accept(std::move(upgrade.stream), std::move(upgrade.request),
                             std::move(upgrade.peer_address));
        };
    }
    // ---- end of chat ----
    // Files (issue 7): encrypted blobs in <data dir>/_blobs, metadata in `_files`;
    // uploads and downloads are streamed (NEXU_MAX_FILE_BYTES caps an upload).
    std::unique_ptr<infrastructure::BlobStore> blobs;
    std::optional<repositories::FileRepository> files;
    if (documents) {
        auto opened = infrastructure::BlobStore::open(infrastructure::default_env(),
                                                      config->data_dir, **crypto);
        if (!opened) {
            return fail_start("NEXU_DATA_DIR: cannot open the file blobs: " +
                              opened.error().context);
        }
        blobs = std::move(*opened);
        files.emplace(*documents, *blobs);
        api::add_file_routes(router, *files, config->http.max_file_bytes);
    }

    // ---- Scheduler and jobs (issue 9): one scheduler thread, a thread per
    // run; each scheduled run is executed by one instance of the cluster (slot
    // leases in <data>/_leases), run records in `_jobs`, and the system routes
    // GET /api/v1/system/jobs, POST /api/v1/system/jobs/{name}/run and
    // GET /api/v1/system/info. Further jobs: scheduler->add(...) before start(). ----
    std::unique_ptr<infrastructure::JobLease> job_leases;
    std::optional<repositories::JobStateRepository> job_records;
    std::optional<repositories::SystemReport> system_report;
    std::unique_ptr<repositories::MaintenanceJobs> maintenance_jobs;
    std::optional<repositories::KeyRotation> key_rotation;  // outlives the scheduler
    std::unique_ptr<config::Scheduler> scheduler;
    if (documents) {
        job_leases = std::make_unique<infrastructure::JobLease>(
            infrastructure::default_env(), config->data_dir, config->instance_id);
        job_records.emplace(*documents);
        system_report.emplace(**store, *documents, infrastructure::default_env(), config->data_dir);
        config::SchedulerSettings scheduler_settings;
        scheduler_settings.instance_id = config->instance_id;
        scheduler_settings.schedules = config->jobs.schedules;
        scheduler_settings.jitter_fraction = config->jobs.jitter_fraction;
        scheduler_settings.jitter_cap = config->jobs.jitter_cap;
        scheduler_settings.run_timeout = config->jobs.run_timeout;
        scheduler_settings.per_instance_jobs = {"log-rotation"};  // each instance's own log file
        scheduler = std::make_unique<config::Scheduler>(std::move(scheduler_settings), *job_leases,
                                                        *job_records);
        repositories::MaintenanceJobs::Parts parts;
        parts.store = store->get();
        parts.report = &*system_report;
        parts.leases = job_leases.get();
        parts.files = files ? &*files : nullptr;
        parts.field_indexes = field_indexes ? &*field_indexes : nullptr;
        parts.collections = collections ? &*collections : nullptr;
        parts.log = config->log;
        parts.lease_retention = config->jobs.lease_retention;
        maintenance_jobs = std::make_unique<repositories::MaintenanceJobs>(std::move(parts));
        scheduler->add(maintenance_jobs->integrity());
        scheduler->add(maintenance_jobs->reindex());
        scheduler->add(maintenance_jobs->temp_cleanup());
        scheduler->add(maintenance_jobs->log_rotation());
        // Backups into NEXU_BACKUP_DIR (the job says "disabled" without one) and
        // re-encryption under the newest key version (docs/storage.md).
        scheduler->add(infrastructure::make_backup_job(infrastructure::default_env(),
                                                       config->data_dir, **crypto,
                                                       config->backup.dir, config->backup.keep));
        key_rotation.emplace(infrastructure::default_env(), config->data_dir, **store, *documents,
                             blobs.get(), **crypto);
        scheduler->add(repositories::make_key_rotation_job(*key_rotation));
        api::add_job_routes(router, *scheduler, &*system_report,
                            {kVersion, config->instance_id, std::chrono::steady_clock::now()});
    }
    // ---- end of the scheduler block (started below, once the listener is open) ----

    const api::RequestPipeline pipeline{std::move(router), config->http, std::move(authenticate),
                                        &rate_limits};

    net::io_context io{static_cast<int>(config->http.io_threads)};
    api::Listener listener{io, pipeline, config->http, api::WorkerPools{workers, writers},
                           std::move(upgrade_to_chat)};
    if (auto opened = listener.open(); !opened) return fail_start(opened.error().context);
    listener.start_accepting();

    net::signal_set signals{io, SIGINT, SIGTERM};
    net::steady_timer drain_timer{io};
    signals.async_wait([&](boost::system::error_code ec, int signal_number) {
        if (ec) return;
        spdlog::info("received signal {}: draining {} connections (grace {} ms)", signal_number,
                     listener.connection_count(), config->http.shutdown_grace.count());
        listener.stop();
        if (chat_hub) chat_hub->stop();  // 1001 to every WebSocket
        stop_when_drained(io, drain_timer, listener, chat_hub.get(),
                          std::chrono::steady_clock::now() + config->http.shutdown_grace);
    });

    if (scheduler) scheduler->start();  // scheduler and jobs (issue 9)
    spdlog::info(
        "nexu {} instance={} listening on {}:{} data_dir={} io_threads={} workers={} writers={}",
        kVersion, config->instance_id, config->http.bind_address, listener.port(),
        config->data_dir.string(), config->http.io_threads, read_threads, config->write_threads);
    std::vector<std::thread> io_threads;
    for (unsigned i = 1; i < config->http.io_threads; ++i)
        io_threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& thread : io_threads) thread.join();
    if (scheduler) scheduler->stop();  // scheduler and jobs: requests running jobs to stop, joins
    workers.join();
    writers.join();
    chat_redis_subscriber.reset();  // its thread calls the hub
    chat_hub.reset();  // its pool may still post to the io_context: before io goes
    chat_redis_publisher.reset();
    // The store writes its high-water marks and logs as it closes: before the logger goes.
    documents.reset();
    store->reset();
    spdlog::info("stopped");
    spdlog::shutdown();
    return 0;
}
