#pragma once

#include <functional>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "api/http_types.hpp"

namespace nexu::api {

// A WebSocket upgrade request (GET /ws with `Upgrade: websocket`) taken off
// its HTTP connection: the stream (still on its strand, no operation
// pending), the upgrade request and any bytes read past it. The api layer
// does not know WebSockets; main hands this to the chat hub (STYLE.md §1).
struct Upgrade {
    boost::beast::tcp_stream stream;
    HttpRequest request;
    boost::beast::flat_buffer buffer;
    std::string peer_address;
};

// Called on the connection's strand; takes ownership of the upgrade.
using UpgradeHandler = std::function<void(Upgrade)>;

// The one path that is handed off.
inline constexpr std::string_view kWebSocketPath = "/ws";

}  // namespace nexu::api
