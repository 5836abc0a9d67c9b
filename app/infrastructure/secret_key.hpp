#pragma once

#include <array>
#include <cstddef>
#include <ostream>

namespace nexu::infrastructure {

// 32 bytes of key material. Wiped with sodium_memzero when destroyed or moved
// from; never printed (operator<< writes [redacted]). Move-only.
class SecretKey {
public:
    static constexpr std::size_t kBytes = 32;

    SecretKey() = default;
    explicit SecretKey(const std::array<unsigned char, kBytes>& bytes) : bytes_(bytes) {}
    SecretKey(const SecretKey&) = delete;
    SecretKey& operator=(const SecretKey&) = delete;
    SecretKey(SecretKey&& other) noexcept;
    SecretKey& operator=(SecretKey&& other) noexcept;
    ~SecretKey();

    const unsigned char* data() const noexcept { return bytes_.data(); }
    unsigned char* data() noexcept { return bytes_.data(); }
    static constexpr std::size_t size() noexcept { return kBytes; }

private:
    std::array<unsigned char, kBytes> bytes_{};
};

inline std::ostream& operator<<(std::ostream& out, const SecretKey&) { return out << "[redacted]"; }

}  // namespace nexu::infrastructure
