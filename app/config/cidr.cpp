#include "config/cidr.hpp"

#include <charconv>

#include <arpa/inet.h>

namespace nexu::config {

std::optional<std::array<std::uint8_t, 16>> parse_ip_address(std::string_view text) {
    if (text.size() > INET6_ADDRSTRLEN) return std::nullopt;
    const std::string zero_terminated{text};
    std::array<std::uint8_t, 16> bytes{};
    if (inet_pton(AF_INET6, zero_terminated.c_str(), bytes.data()) == 1) return bytes;
    std::array<std::uint8_t, 4> v4{};
    if (inet_pton(AF_INET, zero_terminated.c_str(), v4.data()) != 1) return std::nullopt;
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    for (std::size_t i = 0; i < 4; ++i) bytes[12 + i] = v4[i];
    return bytes;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    const auto address_text = text.substr(0, slash);
    auto address = parse_ip_address(address_text);
    if (!address) return std::nullopt;
    const bool is_v4 = address_text.find(':') == std::string_view::npos;
    int bits = is_v4 ? 32 : 128;
    if (slash != std::string_view::npos) {
        const auto bits_text = text.substr(slash + 1);
        const auto [end, ec] =
            std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
        if (ec != std::errc{} || end != bits_text.data() + bits_text.size() || bits < 0 ||
            bits > (is_v4 ? 32 : 128)) {
            return std::nullopt;
        }
    }
    Cidr cidr;
    cidr.prefix_bits_ = is_v4 ? bits + 96 : bits;
    cidr.network_ = *address;
    cidr.text_ = std::string{text};
    return cidr;
}

bool Cidr::contains(std::string_view address_text) const {
    const auto address = parse_ip_address(address_text);
    if (!address) return false;
    int remaining = prefix_bits_;
    for (std::size_t i = 0; i < 16 && remaining > 0; ++i, remaining -= 8) {
        const int bits = remaining >= 8 ? 8 : remaining;
        const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
        if (((*address)[i] & mask) != (network_[i] & mask)) return false;
    }
    return true;
}

}  // namespace nexu::config
