#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nexu::infrastructure {
class Crypto;
class Store;
}  // namespace nexu::infrastructure

namespace nexu::ctl {

// One `nexuctl` subcommand. `run` gets the arguments after the subcommand's
// name and returns the process exit status; it prints results on stdout and
// errors on stderr, and answers --help itself.
struct Command {
    std::string_view name;
    std::string_view summary;
    int (*run)(std::span<const std::string_view> args);
};

// Every subcommand, in the order `nexuctl --help` lists them.
std::span<const Command> commands();

// Subcommands, one file each.
int run_keygen(std::span<const std::string_view> args);
int run_admin(std::span<const std::string_view> args);
int run_verify(std::span<const std::string_view> args);
int run_export(std::span<const std::string_view> args);
int run_import(std::span<const std::string_view> args);

// For verify, export and import (verify_command.cpp): the store opened from
// --data-dir/--key-file/--state-dir over the server's settings (NEXU_DATA_DIR,
// NEXU_KEY_FILE, NEXU_STATE_DIR). Prints the problem and returns the exit
// status on failure. `positional` receives the other arguments.
int open_store_for_command(std::string_view command,
                           std::span<const std::string_view> args,
                           std::vector<std::string>& positional,
                           std::unique_ptr<infrastructure::Crypto>& crypto,
                           std::unique_ptr<infrastructure::Store>& store);
int run_jsonpath(std::span<const std::string_view> args);

}  // namespace nexu::ctl
