#pragma once

#include "infrastructure/env.hpp"

namespace nexu::infrastructure {

// The Env of production: POSIX calls, EINTR retried, O_CLOEXEC everywhere,
// errno mapped to an Error in one place (path and errno symbol in the context).
// Stateless and thread-safe; one instance can serve every store.
class PosixEnv final : public Env {
public:
    Result<std::string> read_file(const std::filesystem::path& path) override;
    Result<std::string> read_range(const std::filesystem::path& path,
                                   std::uint64_t offset,
                                   std::size_t length) override;
    Result<std::unique_ptr<WritableFile>> create_file(const std::filesystem::path& path) override;
    Result<void> link(const std::filesystem::path& from, const std::filesystem::path& to) override;
    Result<void> rename(const std::filesystem::path& from,
                        const std::filesystem::path& to) override;
    Result<void> remove(const std::filesystem::path& path) override;
    Result<void> sync_dir(const std::filesystem::path& dir) override;
    Result<void> make_dir(const std::filesystem::path& dir) override;
    Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) override;
    Result<FileInfo> stat(const std::filesystem::path& path) override;
};

// The errno → Error mapping every Env uses (FaultyEnv injects errnos through it).
Error errno_error(const char* operation, const std::filesystem::path& path, int error_number);

// The shared PosixEnv of the process.
Env& default_env();

}  // namespace nexu::infrastructure
