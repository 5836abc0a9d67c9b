#include <iostream>
#include <string>

#include "ctl/command.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/store.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::ctl {

int run_export(std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "--help") {
        std::cout
            << "usage: nexuctl export COLLECTION [--array] [--data-dir DIR] [--key-file PATH]\n"
               "Prints every document (with _id and _rev) in _id order as JSON lines,\n"
               "or as one JSON array with --array.\n";
        return 0;
    }
    bool as_array = false;
    std::vector<std::string_view> rest;
    for (const auto arg : args) {
        if (arg == "--array") {
            as_array = true;
        } else {
            rest.push_back(arg);
        }
    }
    std::vector<std::string> positional;
    std::unique_ptr<infrastructure::Crypto> crypto;
    std::unique_ptr<infrastructure::Store> store;
    if (int status = open_store_for_command("export", rest, positional, crypto, store); status != 0)
        return status;
    if (positional.size() != 1) {
        std::cerr << "nexuctl export: expected one COLLECTION\n";
        return 2;
    }
    // A collection of the data API keeps its documents under its generation's
    // prefix ("<generation>.<id>"): export those, under the ids clients see.
    std::string prefix;
    repositories::CollectionRepository collections{*store};
    if (auto info = collections.find(positional[0])) {
        prefix = info->key_prefix();
    } else if (info.error().code != Errc::not_found) {
        std::cerr << "nexuctl export: " << info.error().context << '\n';
        return 1;
    }
    repositories::DocumentRepository documents{*store};
    std::size_t count = 0;
    if (as_array) std::cout << '[';
    auto scanned =
        documents.scan(positional[0], prefix, [&](const std::string& id, nlohmann::json doc) {
            if (!id.starts_with(prefix)) return false;
            if (!prefix.empty()) doc["_id"] = id.substr(prefix.size());
            if (as_array && count > 0) std::cout << ',';
            std::cout << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            if (!as_array) std::cout << '\n';
            ++count;
            return static_cast<bool>(std::cout);
        });
    if (as_array) std::cout << "]\n";
    std::cout.flush();
    if (!scanned) {
        std::cerr << "nexuctl export: " << scanned.error().context << '\n';
        return 1;
    }
    if (!std::cout) return 1;
    std::cerr << "exported " << count << " documents from " << positional[0] << '\n';
    return 0;
}

}  // namespace nexu::ctl
