#pragma once

#include <filesystem>

#include "domain/error.hpp"
#include "infrastructure/secret_key.hpp"

namespace nexu::infrastructure {

// The master key file holds the 32-byte key as 64 hexadecimal characters and
// a newline (so it can be a Docker secret or pasted from a vault). It must be a
// regular file that neither group nor others can read.

// Reads and checks the key file. Errc::not_found when it does not exist,
// Errc::invalid_argument (with what to fix) when its mode or content is wrong.
Result<SecretKey> load_master_key(const std::filesystem::path& path);

// Writes a new random key, mode 0600, fsynced; Errc::conflict if the file exists.
// Creates the parent directory (mode 0700) when missing.
Result<void> create_master_key(const std::filesystem::path& path);

}  // namespace nexu::infrastructure
