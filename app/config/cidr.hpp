#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexu::config {

// An IPv4 or IPv6 network such as 10.0.0.0/8 or ::1/128 (a bare address is a
// host route). IPv4 is kept as an IPv4-mapped IPv6 address so one comparison
// serves both families.
class Cidr {
public:
    static std::optional<Cidr> parse(std::string_view text);
    // `address` is the text of an IPv4 or IPv6 address; false when it is not one.
    bool contains(std::string_view address) const;
    std::string to_string() const { return text_; }

private:
    std::array<std::uint8_t, 16> network_{};
    int prefix_bits_ = 0;
    std::string text_;
};

// Parses an address into the 16-byte form Cidr uses.
std::optional<std::array<std::uint8_t, 16>> parse_ip_address(std::string_view text);

}  // namespace nexu::config
