#include <iostream>
#include <string>

#include "config/config.hpp"
#include "ctl/command.hpp"
#include "infrastructure/master_key.hpp"

namespace nexu::ctl {

int run_keygen(std::span<const std::string_view> args) {
    std::string path;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help") {
            std::cout << "usage: nexuctl keygen [--key-file PATH]\n"
                         "Writes a new random 32-byte master key (hex, mode 0600) to PATH,\n"
                         "default $NEXU_KEY_FILE or .dev/master.key. Refuses to overwrite.\n";
            return 0;
        }
        if (args[i] == "--key-file" && i + 1 < args.size()) {
            path = std::string{args[++i]};
        } else {
            std::cerr << "nexuctl keygen: unknown argument '" << args[i] << "'\n";
            return 2;
        }
    }
    if (path.empty()) {
        auto config = config::load(config::process_environment(), {});
        if (!config) {
            std::cerr << "nexuctl keygen: " << config.error().message << '\n';
            return 2;
        }
        path = config->key_file.string();
    }
    if (auto created = infrastructure::create_master_key(path); !created) {
        std::cerr << "nexuctl keygen: " << created.error().context << '\n';
        return 1;
    }
    std::cout << "wrote a new master key to " << path << '\n';
    return 0;
}

}  // namespace nexu::ctl
