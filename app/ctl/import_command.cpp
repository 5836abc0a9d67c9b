#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include "ctl/command.hpp"
#include "domain/json_body.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/store.hpp"
#include "repositories/collection_repository.hpp"
#include "repositories/document_repository.hpp"

namespace nexu::ctl {

namespace {

using Json = nlohmann::json;

// API.md's client id rule; ids we generate (UUIDv7) match it too.
bool is_valid_id(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
    }
    return true;
}

// Parses the whole input: a JSON array of objects, or one object per line.
// Returns the problem (with the line or element) or the documents.
std::string parse_input(const std::string& text, std::vector<Json>& documents) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '[') {
        auto parsed = domain::parse_json(text);
        if (!parsed) return "input: " + parsed.error().context;
        for (auto& element : *parsed) documents.push_back(std::move(element));
        return {};
    }
    std::istringstream lines{text};
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto parsed = domain::parse_json(line);
        if (!parsed) return "line " + std::to_string(number) + ": " + parsed.error().context;
        documents.push_back(std::move(*parsed));
    }
    return {};
}

}  // namespace

int run_import(std::span<const std::string_view> args) {
    if (!args.empty() && args[0] == "--help") {
        std::cout
            << "usage: nexuctl import COLLECTION [FILE] [--data-dir DIR] [--key-file PATH]\n"
               "Reads JSON lines or one JSON array (from FILE or stdin). Every document must\n"
               "be an object with a valid, unique \"_id\". Everything is validated before\n"
               "anything is written; existing documents with the same _id are replaced.\n";
        return 0;
    }
    std::vector<std::string> positional;
    std::unique_ptr<infrastructure::Crypto> crypto;
    std::unique_ptr<infrastructure::Store> store;
    if (int status = open_store_for_command("import", args, positional, crypto, store); status != 0)
        return status;
    if (positional.empty() || positional.size() > 2) {
        std::cerr << "nexuctl import: expected COLLECTION [FILE]\n";
        return 2;
    }
    std::string text;
    if (positional.size() == 2) {
        std::ifstream in{positional[1], std::ios::binary};
        if (!in) {
            std::cerr << "nexuctl import: cannot read " << positional[1] << '\n';
            return 1;
        }
        text.assign(std::istreambuf_iterator<char>{in}, {});
    } else {
        text.assign(std::istreambuf_iterator<char>{std::cin}, {});
    }
    std::vector<Json> documents;
    if (auto problem = parse_input(text, documents); !problem.empty()) {
        std::cerr << "nexuctl import: " << problem << " (nothing written)\n";
        return 1;
    }
    std::set<std::string> ids;
    std::vector<std::pair<std::string, std::string>> stored;
    for (std::size_t i = 0; i < documents.size(); ++i) {
        auto& doc = documents[i];
        const auto where = "document " + std::to_string(i + 1);
        if (!doc.is_object() || !doc.contains("_id") || !doc["_id"].is_string()) {
            std::cerr << "nexuctl import: " << where
                      << " is not an object with a string _id (nothing written)\n";
            return 1;
        }
        const auto id = doc["_id"].get<std::string>();
        if (!is_valid_id(id) || !ids.insert(id).second) {
            std::cerr << "nexuctl import: " << where << ": _id '" << id
                      << "' is invalid or repeated (nothing written)\n";
            return 1;
        }
        auto body = repositories::DocumentRepository::to_stored(std::move(doc));
        if (!body) {
            std::cerr << "nexuctl import: " << where << ": " << body.error().context
                      << " (nothing written)\n";
            return 1;
        }
        stored.emplace_back(id, std::move(*body));
    }
    // Into a collection of the data API: under its generation's prefix, where
    // the REST routes look for them.
    std::string prefix;
    repositories::CollectionRepository collections{*store};
    if (auto info = collections.find(positional[0])) {
        prefix = info->key_prefix();
    } else if (info.error().code != Errc::not_found) {
        std::cerr << "nexuctl import: " << info.error().context << '\n';
        return 1;
    }
    std::size_t written = 0;
    for (auto& [id, body] : stored) {
        auto put = store->put(positional[0], prefix + id, std::move(body));
        if (!put) {
            std::cerr << "nexuctl import: " << id << ": " << put.error().context << " (" << written
                      << " written before the failure)\n";
            return 1;
        }
        ++written;
    }
    std::cout << "imported " << written << " documents into " << positional[0] << '\n';
    return 0;
}

}  // namespace nexu::ctl
