#include <iostream>
#include <string>

#include "ctl/command.hpp"
#include "infrastructure/blob_store.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/key_versions.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/store.hpp"
#include "repositories/document_repository.hpp"
#include "repositories/key_rotation.hpp"

namespace nexu::ctl {

int run_rotate_key_command(std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "--help") {
        std::cout
            << "usage: nexuctl rotate-key [--reencrypt] [--data-dir DIR] [--key-file PATH] "
               "[--state-dir DIR]\n"
               "Makes a new key version current for the data directory (a marker in keys/,\n"
               "MACed with the master key). Running servers seal new objects with it within\n"
               "about a second; their key-rotation job re-encrypts older objects and retires\n"
               "the old version once nothing references it. --reencrypt also runs one pass of\n"
               "that re-encryption here (run it again later to retire the old version once\n"
               "the superseded files passed NEXU_RETENTION_GRACE_MS). The master key itself\n"
               "does not change (docs/storage.md, \"Key rotation\").\n";
        return 0;
    }
    bool reencrypt = false;
    std::vector<std::string_view> rest;
    for (const auto arg : args) {
        if (arg == "--reencrypt")
            reencrypt = true;
        else
            rest.push_back(arg);
    }
    std::vector<std::string> positional;
    std::unique_ptr<infrastructure::Crypto> crypto;
    std::unique_ptr<infrastructure::Store> store;
    if (int status = open_store_for_command("rotate-key", rest, positional, crypto, store);
        status != 0)
        return status;
    if (!positional.empty()) {
        std::cerr << "nexuctl rotate-key: unexpected argument '" << positional[0] << "'\n";
        return 2;
    }
    auto config = config::load(config::process_environment(), {});
    auto& env = infrastructure::default_env();
    // open_store_for_command applied --data-dir; read it back from the same arguments.
    std::filesystem::path data_dir = config ? config->data_dir : std::filesystem::path{"db"};
    for (std::size_t i = 0; i + 1 < rest.size(); ++i) {
        if (rest[i] == "--data-dir") data_dir = std::string{rest[i + 1]};
    }
    const auto before = crypto->current_key_id();
    auto created = infrastructure::create_key_version(env, data_dir, *crypto);
    if (!created) {
        std::cerr << "nexuctl rotate-key: " << created.error().context << '\n';
        return 1;
    }
    std::cout << "key version " << *created << " is current (was " << before
              << "); servers pick it up within about a second\n";
    if (!reencrypt) return 0;
    auto blobs = infrastructure::BlobStore::open(env, data_dir, *crypto);
    if (!blobs) {
        std::cerr << "nexuctl rotate-key: " << blobs.error().context << '\n';
        return 1;
    }
    repositories::DocumentRepository documents{*store};
    repositories::KeyRotation rotation{env, data_dir, *store, documents, blobs->get(), *crypto};
    auto report = rotation.run({}, [](std::string_view line) { std::cerr << line << '\n'; });
    if (!report) {
        std::cerr << "nexuctl rotate-key: " << report.error().context << '\n';
        return 1;
    }
    std::cout << report->summary() << '\n';
    return report->failures == 0 ? 0 : 1;
}

}  // namespace nexu::ctl
