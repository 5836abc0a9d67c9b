#include "ctl/command.hpp"

#include <array>

namespace nexu::ctl {

std::span<const Command> commands() {
    static constexpr std::array table{
        Command{"keygen", "write a new master key file (mode 0600)", run_keygen},
    };
    return table;
}

}  // namespace nexu::ctl
