#include <iostream>
#include <string>

#include "config/config.hpp"
#include "ctl/command.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/store.hpp"

namespace nexu::ctl {

int open_store_for_command(std::string_view command,
                           std::span<const std::string_view> args,
                           std::vector<std::string>& positional,
                           std::unique_ptr<infrastructure::Crypto>& crypto_out,
                           std::unique_ptr<infrastructure::Store>& store_out) {
    auto config = config::load(config::process_environment(), {});
    if (!config) {
        std::cerr << "nexuctl " << command << ": " << config.error().message << '\n';
        return 2;
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        const bool has_value = i + 1 < args.size();
        if (args[i] == "--data-dir" && has_value) {
            config->data_dir = std::string{args[++i]};
        } else if (args[i] == "--key-file" && has_value) {
            config->key_file = std::string{args[++i]};
        } else if (args[i] == "--state-dir" && has_value) {
            config->state_dir = std::string{args[++i]};
        } else if (args[i].starts_with("--")) {
            std::cerr << "nexuctl " << command << ": unknown option '" << args[i] << "'\n";
            return 2;
        } else {
            positional.emplace_back(args[i]);
        }
    }
    auto crypto = infrastructure::Crypto::from_key_file(config->key_file);
    if (!crypto) {
        std::cerr << "nexuctl " << command << ": " << crypto.error().context << '\n';
        return 1;
    }
    auto& env = infrastructure::default_env();
    // Never create a data directory by accident: verify and export of a
    // mistyped path must fail, not report an empty store. Import may create one.
    auto checked = infrastructure::check_data_dir_key(env, config->data_dir, **crypto);
    const bool is_fresh_import =
        !checked && checked.error().code == Errc::not_found && command == "import";
    if (!checked && !is_fresh_import) {
        if (checked.error().code == Errc::not_found) {
            std::cerr << "nexuctl " << command << ": no Nexu data directory at "
                      << config->data_dir.string() << " (NEXU_DATA_DIR)\n";
        } else {
            std::cerr << "nexuctl " << command << ": " << checked.error().context << " ("
                      << config->data_dir.string() << ", NEXU_KEY_FILE "
                      << config->key_file.string() << ")\n";
        }
        return 1;
    }
    auto settings = infrastructure::store_settings_from(*config);
    settings.run_maintenance = false;  // a tool must not checkpoint or delete files
    settings.instance_id = "nexuctl";
    auto store =
        infrastructure::Store::open(env, config->data_dir, config->state_dir, **crypto, settings);
    if (!store) {
        std::cerr << "nexuctl " << command << ": " << store.error().context << '\n';
        return 1;
    }
    crypto_out = std::move(*crypto);
    store_out = std::move(*store);
    return 0;
}

int run_verify(std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "--help") {
        std::cout << "usage: nexuctl verify [--data-dir DIR] [--key-file PATH] [--state-dir DIR]\n"
                     "Decrypts and checks every object of every collection (bypassing caches),\n"
                     "prints the counts and each damaged object. Exit 0 only when all pass.\n";
        return 0;
    }
    std::vector<std::string> positional;
    std::unique_ptr<infrastructure::Crypto> crypto;
    std::unique_ptr<infrastructure::Store> store;
    if (int status = open_store_for_command("verify", args, positional, crypto, store); status != 0)
        return status;
    if (!positional.empty()) {
        std::cerr << "nexuctl verify: unexpected argument '" << positional[0] << "'\n";
        return 2;
    }
    auto report = store->verify();
    if (!report) {
        std::cerr << "nexuctl verify: " << report.error().context << '\n';
        return 1;
    }
    for (const auto& damage : report->damaged) {
        std::cout << "DAMAGED " << damage.collection << " " << damage.object << ": "
                  << damage.reason << '\n';
    }
    std::cout << "collections=" << report->collections << " documents=" << report->documents
              << " commit_files=" << report->commit_files << " damaged=" << report->damaged.size()
              << '\n';
    return report->damaged.empty() ? 0 : 1;
}

}  // namespace nexu::ctl
