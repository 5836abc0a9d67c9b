#include "infrastructure/master_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace nexu::infrastructure {

namespace {

// The hex text is at most 64 characters plus a line ending; anything longer is
// not a key file of ours.
constexpr std::size_t kMaxKeyFileBytes = 128;

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

Result<SecretKey> load_master_key(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        const int error = errno;
        if (error == ENOENT) return fail(Errc::not_found, "NEXU_KEY_FILE: " + path.string() +
                                                              " does not exist (run nexuctl keygen)");
        return fail(Errc::io_error, "NEXU_KEY_FILE: cannot open " + path.string() + ": " +
                                        errno_text(error));
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        return fail(Errc::invalid_argument,
                    "NEXU_KEY_FILE: " + path.string() + " is not a regular file");
    }
    if ((info.st_mode & 077) != 0) {
        ::close(fd);
        return fail(Errc::invalid_argument, "NEXU_KEY_FILE: " + path.string() +
                                                " is readable by group or others (chmod 600 it)");
    }
    char text[kMaxKeyFileBytes + 1] = {};
    std::size_t length = 0;
    while (length < sizeof text) {
        const auto n = ::read(fd, text + length, sizeof text - length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        length += static_cast<std::size_t>(n);
    }
    ::close(fd);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r')) --length;

    std::array<unsigned char, SecretKey::kBytes> bytes{};
    std::size_t decoded = 0;
    const char* end = nullptr;
    const bool ok = length == 2 * SecretKey::kBytes &&
                    sodium_hex2bin(bytes.data(), bytes.size(), text, length, nullptr, &decoded,
                                   &end) == 0 &&
                    decoded == SecretKey::kBytes;
    sodium_memzero(text, sizeof text);
    if (!ok) {
        sodium_memzero(bytes.data(), bytes.size());
        return fail(Errc::invalid_argument,
                    "NEXU_KEY_FILE: " + path.string() +
                        " must hold 64 hexadecimal characters (a 32-byte key; nexuctl keygen)");
    }
    SecretKey key{bytes};
    sodium_memzero(bytes.data(), bytes.size());
    return key;
}

Result<void> create_master_key(const std::filesystem::path& path) {
    if (sodium_init() < 0) return fail(Errc::unavailable, "libsodium failed to initialise");
    const auto parent = path.parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        if (ec) return fail(Errc::io_error, "cannot create " + parent.string() + ": " + ec.message());
        ::chmod(parent.c_str(), 0700);
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        const int error = errno;
        return fail(error == EEXIST ? Errc::conflict : Errc::io_error,
                    "cannot create " + path.string() + ": " + errno_text(error));
    }
    SecretKey key;
    randombytes_buf(key.data(), key.size());
    char text[2 * SecretKey::kBytes + 2] = {};
    sodium_bin2hex(text, sizeof text, key.data(), key.size());
    text[2 * SecretKey::kBytes] = '\n';
    const auto wanted = 2 * SecretKey::kBytes + 1;
    const bool written = ::write(fd, text, wanted) == static_cast<ssize_t>(wanted);
    sodium_memzero(text, sizeof text);
    const bool synced = written && ::fsync(fd) == 0;
    const bool closed = ::close(fd) == 0;
    if (!(written && synced && closed)) {
        ::unlink(path.c_str());
        return fail(Errc::io_error, "cannot write " + path.string());
    }
    return {};
}

}  // namespace nexu::infrastructure
