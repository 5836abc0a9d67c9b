#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/cidr.hpp"

namespace nexu::api {

// The address of the client behind a request. X-Forwarded-For is believed only
// when the peer is a trusted proxy; then the rightmost address that is not a
// trusted proxy is the client (the leftmost entries are whatever the client
// chose to send).
std::string client_address(std::string_view peer_address,
                           std::string_view forwarded_for,
                           const std::vector<config::Cidr>& trusted_proxies);

}  // namespace nexu::api
