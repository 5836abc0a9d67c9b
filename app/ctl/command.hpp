#pragma once

#include <span>
#include <string_view>

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

}  // namespace nexu::ctl
