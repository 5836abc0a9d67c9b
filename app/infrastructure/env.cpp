#include "infrastructure/env.hpp"

#include <atomic>

namespace nexu::infrastructure {

namespace {

std::atomic<std::uint64_t> temp_counter{0};

std::string temp_name(const std::string& tag) {
    return std::string{kTempPrefix} + tag + "-" + std::to_string(temp_counter.fetch_add(1));
}

// Writes a whole temp file; on failure removes it (best effort) and reports.
Result<void> write_temp(Env& env,
                        const std::filesystem::path& path,
                        std::string_view bytes,
                        bool sync) {
    auto file = env.create_file(path);
    if (!file) return tl::make_unexpected(file.error());
    auto written = (*file)->append(bytes);
    if (written && sync) written = (*file)->sync();
    // close() always runs: a close error on NFS means the data did not arrive.
    auto closed = (*file)->close();
    if (!written || !closed) {
        (void)env.remove(path);
        return tl::make_unexpected(!written ? written.error() : closed.error());
    }
    return {};
}

}  // namespace

bool is_stale_handle(const Error& error) {
    return error.context.find("[ESTALE]") != std::string::npos;
}

bool is_temp_name(std::string_view name) {
    return name.starts_with(kTempPrefix);
}

Result<void> create_durable(Env& env,
                            const std::filesystem::path& dir,
                            const std::string& name,
                            std::string_view bytes,
                            const std::string& temp_tag) {
    const auto temp = dir / temp_name(temp_tag);
    if (auto written = write_temp(env, temp, bytes, true); !written) return written;
    const auto final_path = dir / name;
    auto linked = env.link(temp, final_path);
    if (!linked && linked.error().code != Errc::conflict) {
        // Over NFS a retransmitted link can fail although it succeeded: two
        // names on our temp inode mean the commit happened.
        auto info = env.stat(temp);
        if (info && info->link_count == 2) linked = {};
    }
    (void)env.remove(temp);
    return linked;
}

Result<void> replace_file(Env& env,
                          const std::filesystem::path& dir,
                          const std::string& name,
                          std::string_view bytes,
                          const std::string& temp_tag,
                          bool sync) {
    const auto temp = dir / temp_name(temp_tag);
    if (auto written = write_temp(env, temp, bytes, sync); !written) return written;
    if (auto renamed = env.rename(temp, dir / name); !renamed) {
        (void)env.remove(temp);
        return renamed;
    }
    if (sync) return env.sync_dir(dir);
    return {};
}

}  // namespace nexu::infrastructure
