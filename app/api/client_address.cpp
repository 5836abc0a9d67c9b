#include "api/client_address.hpp"

namespace nexu::api {

namespace {

bool is_trusted(std::string_view address, const std::vector<config::Cidr>& trusted_proxies) {
    for (const auto& cidr : trusted_proxies) {
        if (cidr.contains(address)) return true;
    }
    return false;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

std::string client_address(std::string_view peer_address,
                           std::string_view forwarded_for,
                           const std::vector<config::Cidr>& trusted_proxies) {
    if (forwarded_for.empty() || !is_trusted(peer_address, trusted_proxies)) {
        return std::string{peer_address};
    }
    std::string_view client = peer_address;
    while (!forwarded_for.empty()) {
        const auto comma = forwarded_for.rfind(',');
        const auto hop =
            trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
        if (!config::parse_ip_address(hop)) break;  // garbage: stop at the last good hop
        client = hop;
        if (!is_trusted(hop, trusted_proxies)) break;
        if (comma == std::string_view::npos) break;
        forwarded_for = forwarded_for.substr(0, comma);
    }
    return std::string{client};
}

}  // namespace nexu::api
