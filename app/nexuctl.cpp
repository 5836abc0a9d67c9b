// nexuctl: the operator's tool beside the server. Wiring only: each
// subcommand lives in app/ctl/.
#include <iostream>
#include <string_view>
#include <vector>

#include "config/version.hpp"
#include "ctl/command.hpp"

namespace {

void print_usage(std::ostream& out) {
    out << "usage: nexuctl COMMAND [ARGS...]   (nexuctl COMMAND --help for each)\n\ncommands:\n";
    for (const auto& command : nexu::ctl::commands()) {
        out << "  " << command.name << std::string(14 - command.name.size(), ' ') << command.summary
            << '\n';
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) {
        print_usage(std::cerr);
        return 2;
    }
    if (args[0] == "--help" || args[0] == "-h") {
        print_usage(std::cout);
        return 0;
    }
    if (args[0] == "--version") {
        std::cout << "nexuctl " << nexu::kVersion << '\n';
        return 0;
    }
    for (const auto& command : nexu::ctl::commands()) {
        if (command.name == args[0]) {
            return command.run(std::span<const std::string_view>(args).subspan(1));
        }
    }
    std::cerr << "nexuctl: unknown command '" << args[0] << "'\n";
    print_usage(std::cerr);
    return 2;
}
