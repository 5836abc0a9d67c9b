#include "infrastructure/data_dir_probe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace nexu::infrastructure {

namespace {

std::atomic<unsigned> probe_counter{0};

Error io_failure(const char* step, const std::filesystem::path& path, int error) {
    return Error{error == ENOSPC || error == EDQUOT || error == ESTALE ? Errc::unavailable
                                                                       : Errc::io_error,
                 std::string{step} + " " + path.string() + ": " + std::strerror(error)};
}

}  // namespace

Result<void> probe_data_dir(const std::filesystem::path& dir, const std::string& instance_id) {
    const auto suffix = instance_id + "." + std::to_string(::getpid()) + "." +
                        std::to_string(probe_counter.fetch_add(1));
    const auto temp = dir / (".ready-probe." + suffix + ".tmp");
    const auto final_name = dir / (".ready-probe." + suffix);

    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return tl::make_unexpected(io_failure("create", temp, errno));
    const char byte = 'x';
    int error = 0;
    if (::write(fd, &byte, 1) != 1) error = errno ? errno : EIO;
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error != 0) {
        ::unlink(temp.c_str());
        return tl::make_unexpected(io_failure("write", temp, error));
    }
    if (::rename(temp.c_str(), final_name.c_str()) != 0) {
        error = errno;
        ::unlink(temp.c_str());
        return tl::make_unexpected(io_failure("rename", temp, error));
    }
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) error = errno;
    if (dir_fd >= 0 && ::fsync(dir_fd) != 0) error = errno;
    if (dir_fd >= 0) ::close(dir_fd);
    ::unlink(final_name.c_str());
    if (error != 0) return tl::make_unexpected(io_failure("fsync", dir, error));
    return {};
}

}  // namespace nexu::infrastructure
