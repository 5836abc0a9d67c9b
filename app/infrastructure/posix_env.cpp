#include "infrastructure/posix_env.hpp"

#include <cerrno>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nexu::infrastructure {

namespace {

const char* errno_symbol(int error_number) {
    switch (error_number) {
        case ENOENT:
            return "ENOENT";
        case EEXIST:
            return "EEXIST";
        case ENOSPC:
            return "ENOSPC";
        case EDQUOT:
            return "EDQUOT";
        case ESTALE:
            return "ESTALE";
        case EIO:
            return "EIO";
        case EACCES:
            return "EACCES";
        case EROFS:
            return "EROFS";
        case ENOTDIR:
            return "ENOTDIR";
        case EISDIR:
            return "EISDIR";
        default:
            return "E?";
    }
}

// A descriptor closed on every path; close() reports what NFS says.
class UniqueFd {
public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd& operator=(UniqueFd&&) = delete;
    ~UniqueFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int release_and_close() {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd);
    }

private:
    int fd_;
};

class PosixWritableFile final : public WritableFile {
public:
    PosixWritableFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

    Result<void> append(std::string_view bytes) override {
        while (!bytes.empty()) {
            const auto n = ::write(fd_.get(), bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return tl::make_unexpected(errno_error("write", path_, errno));
            if (n == 0) return tl::make_unexpected(errno_error("write", path_, EIO));
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return {};
    }
    Result<void> sync() override {
        if (::fsync(fd_.get()) != 0) return tl::make_unexpected(errno_error("fsync", path_, errno));
        return {};
    }
    Result<void> close() override {
        if (fd_.get() < 0) return {};
        // Linux closes the descriptor even when close() fails; never retry it.
        if (fd_.release_and_close() != 0 && errno != EINTR) {
            return tl::make_unexpected(errno_error("close", path_, errno));
        }
        return {};
    }

private:
    std::filesystem::path path_;
    UniqueFd fd_;
};

Result<UniqueFd> open_for_reading(const std::filesystem::path& path) {
    for (;;) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) return UniqueFd{fd};
        if (errno == EINTR) continue;
        return tl::make_unexpected(errno_error("open", path, errno));
    }
}

}  // namespace

Error errno_error(const char* operation, const std::filesystem::path& path, int error_number) {
    Errc code = Errc::io_error;
    if (error_number == ENOENT) code = Errc::not_found;
    if (error_number == EEXIST) code = Errc::conflict;
    if (error_number == ENOSPC || error_number == EDQUOT || error_number == ESTALE) {
        code = Errc::unavailable;
    }
    return Error{code, std::string{operation} + " " + path.string() + ": " +
                           std::strerror(error_number) + " [" + errno_symbol(error_number) + "]"};
}

Result<std::string> PosixEnv::read_file(const std::filesystem::path& path) {
    auto fd = open_for_reading(path);
    if (!fd) return tl::make_unexpected(fd.error());
    std::string out;
    struct stat info {};
    if (::fstat(fd->get(), &info) == 0 && info.st_size > 0) {
        out.reserve(static_cast<std::size_t>(info.st_size));
    }
    char buffer[65536];
    for (;;) {
        const auto n = ::read(fd->get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return tl::make_unexpected(errno_error("read", path, errno));
        if (n == 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

Result<std::string> PosixEnv::read_range(const std::filesystem::path& path,
                                         std::uint64_t offset,
                                         std::size_t length) {
    auto fd = open_for_reading(path);
    if (!fd) return tl::make_unexpected(fd.error());
    std::string out(length, '\0');
    std::size_t done = 0;
    while (done < length) {
        const auto n =
            ::pread(fd->get(), out.data() + done, length - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return tl::make_unexpected(errno_error("read", path, errno));
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
}

Result<std::unique_ptr<WritableFile>> PosixEnv::create_file(const std::filesystem::path& path) {
    for (;;) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) return std::make_unique<PosixWritableFile>(path, fd);
        if (errno == EINTR) continue;
        return tl::make_unexpected(errno_error("create", path, errno));
    }
}

Result<void> PosixEnv::link(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::link(from.c_str(), to.c_str()) != 0) {
        return tl::make_unexpected(errno_error("link", to, errno));
    }
    return {};
}

Result<void> PosixEnv::rename(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return tl::make_unexpected(errno_error("rename", to, errno));
    }
    return {};
}

Result<void> PosixEnv::remove(const std::filesystem::path& path) {
    if (::unlink(path.c_str()) != 0) return tl::make_unexpected(errno_error("unlink", path, errno));
    return {};
}

Result<void> PosixEnv::sync_dir(const std::filesystem::path& dir) {
    const int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (raw < 0) return tl::make_unexpected(errno_error("open", dir, errno));
    UniqueFd fd{raw};
    if (::fsync(fd.get()) != 0) return tl::make_unexpected(errno_error("fsync", dir, errno));
    return {};
}

Result<void> PosixEnv::make_dir(const std::filesystem::path& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return tl::make_unexpected(errno_error("mkdir", dir, errno));
    }
    return {};
}

Result<std::vector<std::string>> PosixEnv::list_dir(const std::filesystem::path& dir) {
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) return tl::make_unexpected(errno_error("opendir", dir, errno));
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(handle)) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
    }
    const int error_number = errno;
    ::closedir(handle);
    if (error_number != 0) return tl::make_unexpected(errno_error("readdir", dir, error_number));
    return names;
}

Result<FileInfo> PosixEnv::stat(const std::filesystem::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return tl::make_unexpected(errno_error("stat", path, errno));
    }
    return FileInfo{static_cast<std::uint64_t>(info.st_size), info.st_mtim.tv_sec,
                    static_cast<std::uint64_t>(info.st_nlink)};
}

Env& default_env() {
    static PosixEnv env;
    return env;
}

}  // namespace nexu::infrastructure
