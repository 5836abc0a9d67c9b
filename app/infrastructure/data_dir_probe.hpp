#pragma once

#include <filesystem>
#include <string>

#include "domain/error.hpp"

namespace nexu::infrastructure {

// Proves the data directory takes a durable write the way the store commits
// one: create a uniquely named temp file, write, fsync, close, rename it to a
// probe name, fsync the directory, then remove it. Used by /ready and at start.
// Thread-safe; leaves nothing behind (a crash mid-probe leaves a .tmp file that
// temp cleanup removes).
Result<void> probe_data_dir(const std::filesystem::path& dir, const std::string& instance_id);

}  // namespace nexu::infrastructure
