#include <fstream>
#include <iostream>
#include <string>

#include <sodium.h>

#include "ctl/command.hpp"
#include "domain/password_policy.hpp"
#include "domain/timestamp.hpp"
#include "domain/user.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/password_hasher.hpp"
#include "infrastructure/store.hpp"
#include "infrastructure/uuid_v7.hpp"
#include "repositories/document_repository.hpp"
#include "repositories/user_repository.hpp"

namespace nexu::ctl {

namespace {

constexpr std::string_view kUsage =
    "usage: nexuctl admin create USERNAME [--password-file FILE] [--data-dir DIR] [--key-file PATH]\n"
    "Creates a user holding the admin role. The password is the first line of\n"
    "FILE, or of standard input: never an argument, which other users could see\n"
    "in the process list. It must pass the server's password policy.\n";

bool read_password(const std::string& file, std::string& password) {
    if (file.empty()) return static_cast<bool>(std::getline(std::cin, password));
    std::ifstream in{file};
    return in && std::getline(in, password);
}

}  // namespace

int run_admin(std::span<const std::string_view> args) {
    if (args.empty() || args[0] == "--help" || args[0] != "create") {
        (args.empty() || args[0] != "--help" ? std::cerr : std::cout) << kUsage;
        return args.empty() || args[0] != "--help" ? 2 : 0;
    }
    std::string password_file;
    std::vector<std::string_view> rest;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--help") {
            std::cout << kUsage;
            return 0;
        }
        if (args[i] == "--password-file" && i + 1 < args.size()) {
            password_file = std::string{args[++i]};
        } else {
            rest.push_back(args[i]);
        }
    }
    std::vector<std::string> positional;
    std::unique_ptr<infrastructure::Crypto> crypto;
    std::unique_ptr<infrastructure::Store> store;
    if (int status = open_store_for_command("admin", rest, positional, crypto, store); status != 0) {
        return status;
    }
    if (positional.size() != 1) {
        std::cerr << "nexuctl admin create: expected one USERNAME\n";
        return 2;
    }
    const auto& username = positional[0];
    if (auto why = domain::username_problem(username)) {
        std::cerr << "nexuctl admin create: USERNAME " << *why << '\n';
        return 2;
    }
    std::string password;
    if (!read_password(password_file, password)) {
        std::cerr << "nexuctl admin create: cannot read the password\n";
        return 2;
    }
    const domain::PasswordPolicy policy;
    if (auto why = policy.problem(password, username)) {
        sodium_memzero(password.data(), password.size());
        std::cerr << "nexuctl admin create: the password " << *why << '\n';
        return 2;
    }
    const infrastructure::PasswordHasher hasher{{1, 1}};
    auto hash = hasher.hash_now(password);
    sodium_memzero(password.data(), password.size());
    if (!hash) {
        std::cerr << "nexuctl admin create: " << hash.error().context << '\n';
        return 1;
    }
    infrastructure::UuidV7Generator ids;
    const auto now = domain::format_timestamp(std::chrono::system_clock::now());
    domain::User admin;
    admin.id = ids.next();
    admin.username = username;
    admin.roles = {"admin"};
    admin.created_at = now;
    admin.updated_at = now;
    admin.password_hash = std::move(*hash);
    repositories::DocumentRepository documents{*store};
    repositories::UserRepository users{documents, *crypto};
    auto created = users.create(std::move(admin));
    if (!created) {
        if (created.error().code == Errc::conflict) {
            std::cerr << "nexuctl admin create: the " << created.error().context << " is taken\n";
            return 1;
        }
        std::cerr << "nexuctl admin create: " << created.error().context << '\n';
        return 1;
    }
    std::cout << "created admin " << created->username << " (" << created->id << ")\n";
    return 0;
}

}  // namespace nexu::ctl
