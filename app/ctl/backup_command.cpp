#include <charconv>
#include <csignal>
#include <iostream>
#include <string>

#include "config/config.hpp"
#include "ctl/command.hpp"
#include "infrastructure/backup.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/key_versions.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/store.hpp"

namespace nexu::ctl {

namespace {

struct BackupArgs {
    config::Config config;
    std::vector<std::string> positional;
    std::optional<std::size_t> keep;
};

// --data-dir/--key-file/--state-dir over the server's settings, like verify.
int parse_args(std::string_view command,
               std::span<const std::string_view> args,
               bool takes_keep,
               BackupArgs& out) {
    auto config = config::load(config::process_environment(), {});
    if (!config) {
        std::cerr << "nexuctl " << command << ": " << config.error().message << '\n';
        return 2;
    }
    out.config = std::move(*config);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const bool has_value = i + 1 < args.size();
        if (args[i] == "--data-dir" && has_value) {
            out.config.data_dir = std::string{args[++i]};
        } else if (args[i] == "--key-file" && has_value) {
            out.config.key_file = std::string{args[++i]};
        } else if (args[i] == "--state-dir" && has_value) {
            out.config.state_dir = std::string{args[++i]};
        } else if (takes_keep && args[i] == "--keep" && has_value) {
            const auto text = args[++i];
            std::size_t keep = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), keep);
            if (ec != std::errc{} || end != text.data() + text.size() || keep == 0) {
                std::cerr << "nexuctl " << command << ": --keep must be a whole number >= 1\n";
                return 2;
            }
            out.keep = keep;
        } else if (args[i].starts_with("--")) {
            std::cerr << "nexuctl " << command << ": unknown option '" << args[i] << "'\n";
            return 2;
        } else {
            out.positional.emplace_back(args[i]);
        }
    }
    return 0;
}

void to_stderr(std::string_view line) {
    std::cerr << line << '\n';
}

}  // namespace

int run_backup_command(std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "--help") {
        std::cout << "usage: nexuctl backup DIR [--keep N] [--data-dir DIR] [--key-file PATH] "
                     "[--state-dir DIR]\n"
                     "Copies the data directory (already encrypted) into DIR/<timestamp-id>/ with\n"
                     "a sealed manifest written last; safe while servers run. An interrupted\n"
                     "backup is resumed by the next run. Keeps the newest N complete backups\n"
                     "(default NEXU_BACKUP_KEEP). Progress goes to stderr.\n";
        return 0;
    }
    BackupArgs parsed;
    if (int status = parse_args("backup", args, true, parsed); status != 0) return status;
    if (parsed.positional.size() != 1) {
        std::cerr << "nexuctl backup: expected one backup directory (see --help)\n";
        return 2;
    }
    auto crypto = infrastructure::Crypto::from_key_file(parsed.config.key_file);
    if (!crypto) {
        std::cerr << "nexuctl backup: " << crypto.error().context << '\n';
        return 1;
    }
    auto& env = infrastructure::default_env();
    if (auto checked = infrastructure::check_data_dir_key(env, parsed.config.data_dir, **crypto);
        !checked) {
        std::cerr << "nexuctl backup: "
                  << (checked.error().code == Errc::not_found
                          ? "no Nexu data directory at " + parsed.config.data_dir.string()
                          : checked.error().context)
                  << '\n';
        return 1;
    }
    if (auto versions = infrastructure::apply_key_versions(env, parsed.config.data_dir, **crypto);
        !versions) {
        std::cerr << "nexuctl backup: " << versions.error().context << '\n';
        return 1;
    }
    infrastructure::BackupOptions options;
    options.root = parsed.positional[0];
    options.keep = parsed.keep.value_or(parsed.config.backup.keep);
    options.progress = to_stderr;
    auto result = infrastructure::run_backup(env, parsed.config.data_dir, **crypto, options);
    if (!result) {
        std::cerr << "nexuctl backup: " << result.error().context << '\n';
        return 1;
    }
    std::cout << "backup=" << result->id << " dir=" << result->dir.string()
              << " collections=" << result->collections << " files=" << result->files
              << " reused=" << result->reused_files << " bytes=" << result->bytes
              << " deleted_backups=" << result->deleted_backups
              << " resumed=" << (result->was_resumed ? "yes" : "no") << '\n';
    return result->is_complete ? 0 : 1;
}

int run_restore_command(std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "--help") {
        std::cout
            << "usage: nexuctl restore DIR [--data-dir DIR] [--key-file PATH] [--state-dir DIR]\n"
               "Restores a backup (DIR is one backup, or a backup folder: its newest\n"
               "complete backup) into the data directory, which must be empty or missing.\n"
               "Verifies the sealed manifest and every file's SHA-256; on any mismatch\n"
               "removes what it copied and exits 1.\n";
        return 0;
    }
    BackupArgs parsed;
    if (int status = parse_args("restore", args, false, parsed); status != 0) return status;
    if (parsed.positional.size() != 1) {
        std::cerr << "nexuctl restore: expected one backup directory (see --help)\n";
        return 2;
    }
    auto crypto = infrastructure::Crypto::from_key_file(parsed.config.key_file);
    if (!crypto) {
        std::cerr << "nexuctl restore: " << crypto.error().context << '\n';
        return 1;
    }
    auto& env = infrastructure::default_env();
    auto result = infrastructure::restore_backup(env, parsed.positional[0], parsed.config.data_dir,
                                                 **crypto, to_stderr);
    if (!result) {
        std::cerr << "nexuctl restore: " << result.error().context << '\n';
        return 1;
    }
    const auto marks = parsed.config.state_dir / result->directory_id_hex;
    std::cout << "restored backup " << result->id << " into " << parsed.config.data_dir.string()
              << ": files=" << result->files << " bytes=" << result->bytes << '\n'
              << "NEXU_STATE_DIR: the restored data directory keeps its id "
              << result->directory_id_hex
              << ".\n"
                 "  Every instance that served this data directory after the backup was taken\n"
                 "  holds rollback high-water marks newer than the backup: before starting it,\n"
                 "  delete <its NEXU_STATE_DIR>/"
              << result->directory_id_hex << " (here: " << marks.string()
              << ")\n  or give it an empty NEXU_STATE_DIR; otherwise every restored collection\n"
                 "  reports \"rollback detected\". Instances that never served it need nothing.\n";
    return 0;
}

}  // namespace nexu::ctl
