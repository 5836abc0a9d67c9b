#include "config/config.hpp"

#include <fstream>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

using nexu::config::load;

namespace {
using Environment = std::map<std::string, std::string>;

std::string error_of(const Environment& environment, const std::filesystem::path& file = {}) {
    auto config = load(environment, file);
    return config ? std::string{} : config.error().message;
}
}  // namespace

TEST_CASE("defaults match the documented ones", "[config]") {
    auto config = load({}, {});
    REQUIRE(config);
    CHECK(config->http.bind_address == "127.0.0.1");
    CHECK(config->http.port == 8080);
    CHECK(config->data_dir == "db");
    CHECK(config->log.logs_dir == "logs");
    CHECK(config->http.max_body_bytes == 1024 * 1024);
    CHECK(config->http.max_header_bytes == 16 * 1024);
    CHECK(config->http.header_timeout == std::chrono::seconds(10));
    CHECK(config->http.idle_timeout == std::chrono::seconds(60));
    CHECK(config->http.cors_origins.empty());
    CHECK_FALSE(config->instance_id.empty());
}

TEST_CASE("environment values are parsed into typed settings", "[config]") {
    auto config = load({{"NEXU_PORT", "9090"},
                        {"NEXU_MAX_BODY_BYTES", "2MiB"},
                        {"NEXU_CORS_ORIGINS", "https://a.example, http://localhost:3000"},
                        {"NEXU_TRUSTED_PROXIES", "10.0.0.0/8,::1"},
                        {"NEXU_LOG_LEVEL", "debug"},
                        {"NEXU_INSTANCE_ID", "node-2"},
                        {"NEXU_LOG_FILE", "app-{instance}.log"},
                        {"PATH", "/usr/bin"}},
                       {});
    REQUIRE(config);
    CHECK(config->http.port == 9090);
    CHECK(config->http.max_body_bytes == 2 * 1024 * 1024);
    CHECK(config->http.cors_origins ==
          std::vector<std::string>{"https://a.example", "http://localhost:3000"});
    REQUIRE(config->http.trusted_proxies.size() == 2);
    CHECK(config->http.trusted_proxies[0].contains("10.1.2.3"));
    CHECK(config->log.level == spdlog::level::debug);
    CHECK(config->log.file_name == "app-node-2.log");
}

TEST_CASE("each bad setting is refused with its name and what is allowed", "[config]") {
    const std::vector<std::pair<std::string, std::string>> bad{
        {"NEXU_PORT", "0"},
        {"NEXU_PORT", "65536"},
        {"NEXU_PORT", "80a"},
        {"NEXU_BIND", "localhost"},
        {"NEXU_IO_THREADS", "0"},
        {"NEXU_WORKER_THREADS", "-1"},
        {"NEXU_MAX_BODY_BYTES", "12XB"},
        {"NEXU_MAX_HEADER_BYTES", "10"},
        {"NEXU_HEADER_TIMEOUT_MS", "ten"},
        {"NEXU_CORS_ORIGINS", "example.com"},
        {"NEXU_TRUSTED_PROXIES", "10.0.0.0/33"},
        {"NEXU_LOG_LEVEL", "loud"},
        {"NEXU_LOG_CONSOLE", "maybe"},
        {"NEXU_LOG_FILE", "../escape.log"},
        {"NEXU_INSTANCE_ID", "has space"},
        {"NEXU_REDIS_URL", "http://x"},
        {"NEXU_DATA_DIR", ""},
    };
    for (const auto& [name, value] : bad) {
        INFO(name << "=" << value);
        const auto message = error_of({{name, value}});
        CHECK(message.find(name) == 0);
        CHECK(message.find("must") != std::string::npos);
    }
}

TEST_CASE("an unknown NEXU_ setting is an error, other variables are ignored", "[config]") {
    CHECK(error_of({{"NEXU_PROT", "8080"}}).find("unknown setting NEXU_PROT") != std::string::npos);
    CHECK(error_of({{"HOME", "/root"}}).empty());
}

TEST_CASE("secrets are redacted in errors and in the printed configuration", "[config]") {
    auto config = load({{"NEXU_ADMIN_PASSWORD", "hunter2-secret-value"}}, {});
    REQUIRE(config);
    const auto printed = nexu::config::describe(*config);
    CHECK(printed.find("hunter2") == std::string::npos);
    CHECK(printed.find("NEXU_ADMIN_PASSWORD=[redacted]") != std::string::npos);
    const auto message =
        error_of({{"NEXU_ADMIN_PASSWORD", "x"}, {"NEXU_ADMIN_PASSWORD_FILE", "/run/secret"}});
    CHECK(message.find("set only one") != std::string::npos);
}

TEST_CASE("the config file is read under the environment", "[config]") {
    nexu::testing::TempDir dir;
    const auto file = dir.path() / "nexu.env";
    std::ofstream{file} << "# comment\nNEXU_PORT=7000\nNEXU_LOG_LEVEL = \"warning\"\n\n";
    auto config = load({{"NEXU_PORT", "7001"}}, file);
    REQUIRE(config);
    CHECK(config->http.port == 7001);
    CHECK(config->log.level == spdlog::level::warn);

    std::ofstream{file} << "NEXU_NOPE=1\n";
    CHECK(error_of({}, file).find("unknown setting NEXU_NOPE") != std::string::npos);
    std::ofstream{file} << "just words\n";
    CHECK(error_of({}, file).find(":1: expected NAME=VALUE") != std::string::npos);
    CHECK(error_of({}, dir.path() / "missing").find("cannot read") != std::string::npos);
}

TEST_CASE("the command line selects an action", "[config]") {
    const char* help[] = {"nexu", "--help"};
    CHECK(nexu::config::parse_command_line(2, help)->action ==
          nexu::config::CommandLine::Action::help);
    const char* file[] = {"nexu", "--config", "x.env", "--print-config"};
    auto command = nexu::config::parse_command_line(4, file);
    REQUIRE(command);
    CHECK(command->config_file == "x.env");
    CHECK(command->action == nexu::config::CommandLine::Action::print_config);
    const char* bad[] = {"nexu", "--port=1"};
    CHECK_FALSE(nexu::config::parse_command_line(2, bad));
}

TEST_CASE("help lists every setting", "[config]") {
    const auto help = nexu::config::settings_help();
    for (const auto* name :
         {"NEXU_BIND", "NEXU_PORT", "NEXU_DATA_DIR", "NEXU_LOGS_DIR", "NEXU_KEY_FILE",
          "NEXU_INSTANCE_ID", "NEXU_STATE_DIR", "NEXU_ADMIN_USERNAME", "NEXU_ADMIN_PASSWORD",
          "NEXU_ADMIN_PASSWORD_FILE", "NEXU_REDIS_URL", "NEXU_CORS_ORIGINS", "NEXU_TRUSTED_PROXIES",
          "NEXU_LOG_LEVEL"}) {
        INFO(name);
        CHECK(help.find(name) != std::string::npos);
    }
}
