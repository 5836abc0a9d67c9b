#include "ctl/command.hpp"

#include <array>

namespace nexu::ctl {

std::span<const Command> commands() {
    static constexpr std::array table{
        Command{"keygen", "write a new master key file (mode 0600)", run_keygen},
        Command{"admin", "admin create USERNAME: create a user with the admin role", run_admin},
        Command{"verify", "decrypt and check every object of every collection", run_verify},
        Command{"export", "print a collection as JSON lines (or --array)", run_export},
        Command{"import", "load JSON lines or an array into a collection", run_import},
        Command{"jsonpath", "evaluate an RFC 9535 query over a JSON document", run_jsonpath},
    };
    return table;
}

}  // namespace nexu::ctl
