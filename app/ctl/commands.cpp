#include "ctl/command.hpp"

#include <array>

namespace nexu::ctl {

// Backups and key rotation (issue 9): backup_command.cpp, rotate_key_command.cpp.
int run_backup_command(std::span<const std::string_view> args);
int run_restore_command(std::span<const std::string_view> args);
int run_rotate_key_command(std::span<const std::string_view> args);

std::span<const Command> commands() {
    static constexpr std::array table{
        Command{"keygen", "write a new master key file (mode 0600)", run_keygen},
        Command{"admin", "admin create USERNAME: create a user with the admin role", run_admin},
        Command{"verify", "decrypt and check every object of every collection", run_verify},
        Command{"export", "print a collection as JSON lines (or --array)", run_export},
        Command{"import", "load JSON lines or an array into a collection", run_import},
        Command{"jsonpath", "evaluate an RFC 9535 query over a JSON document", run_jsonpath},
        Command{"backup", "backup DIR: consistent encrypted copy into DIR/<timestamp-id>/",
                run_backup_command},
        Command{"restore", "restore DIR: a backup into an empty data directory",
                run_restore_command},
        Command{"rotate-key", "make a new key version current (re-encryption runs in the server)",
                run_rotate_key_command},
    };
    return table;
}

}  // namespace nexu::ctl
