#include "infrastructure/uuid_v7.hpp"

#include <array>

#include <sodium.h>

namespace nexu::infrastructure {

namespace {

constexpr std::uint32_t kCounterMax = 0xfff;

std::string format(const std::array<unsigned char, 16>& bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += kHex[bytes[i] >> 4];
        out += kHex[bytes[i] & 0xf];
    }
    return out;
}

}  // namespace

std::string UuidV7Generator::next() {
    return next_at(std::chrono::system_clock::now());
}

std::string UuidV7Generator::next_at(std::chrono::system_clock::time_point now) {
    const auto now_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    std::array<unsigned char, 16> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    std::uint64_t ms = 0;
    std::uint32_t counter = 0;
    {
        std::lock_guard lock{mutex_};
        if (now_ms > last_ms_) {
            last_ms_ = now_ms;
            // A random start leaves room to count up while keeping ids hard to guess.
            counter_ = static_cast<std::uint32_t>(bytes[6] & 0x07) << 8 | bytes[7];
        } else if (++counter_ > kCounterMax) {
            ++last_ms_;  // borrow the next millisecond rather than repeat or go back
            counter_ = 0;
        }
        ms = last_ms_;
        counter = counter_;
    }
    for (int i = 0; i < 6; ++i)
        bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(ms >> (40 - 8 * i));
    bytes[6] = static_cast<unsigned char>(0x70 | (counter >> 8));
    bytes[7] = static_cast<unsigned char>(counter & 0xff);
    bytes[8] = static_cast<unsigned char>(0x80 | (bytes[8] & 0x3f));
    return format(bytes);
}

bool is_uuid_v7(std::string_view text) {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    const char variant = text[19];
    return text[14] == '7' &&
           (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

}  // namespace nexu::infrastructure
