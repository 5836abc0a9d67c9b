#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "domain/error.hpp"
#include "infrastructure/crypto.hpp"
#include "infrastructure/env.hpp"

namespace nexu::infrastructure {

// Which key version seals new objects in a data directory, and which older
// versions are retired (docs/storage.md, "Key rotation"). Both live as small
// markers in `<data dir>/keys/`, each created exclusively (never replaced):
//   version-<8 digits>   this version is current (the highest one wins)
//   retired-<8 digits>   nothing references this version any more
// A marker's body is a MAC under the master key (Crypto::keyed_hash, lookups
// purpose, version 1), so nobody without the key can forge or move one; an
// invalid marker is ignored and counted. Version 1 needs no marker.
struct KeyVersions {
    std::uint32_t current = 1;
    std::vector<std::uint32_t> retired;  // ascending
    std::size_t invalid_markers = 0;
    bool is_retired(std::uint32_t version) const;
    // An older version not retired yet: a rotation is in progress.
    bool has_unretired_older() const;
};

inline constexpr std::string_view kKeysDirName = "keys";

Result<KeyVersions> read_key_versions(Env& env,
                                      const std::filesystem::path& data_dir,
                                      const Crypto& crypto);

// Reads the markers and makes `crypto` follow them (current version, retired
// versions). Cheap: a directory listing and a few tiny files.
Result<KeyVersions> apply_key_versions(Env& env,
                                       const std::filesystem::path& data_dir,
                                       const Crypto& crypto);

// Makes version current + 1 current (exclusive create; a racing rotation
// makes us take the next number) and applies it to `crypto`. Returns the new
// version.
Result<std::uint32_t> create_key_version(Env& env,
                                         const std::filesystem::path& data_dir,
                                         const Crypto& crypto);

// Records `version` as retired (idempotent) and applies it to `crypto`.
Result<void> record_retired_key_version(Env& env,
                                        const std::filesystem::path& data_dir,
                                        const Crypto& crypto,
                                        std::uint32_t version);

}  // namespace nexu::infrastructure
