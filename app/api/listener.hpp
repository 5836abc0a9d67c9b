#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/connection_registry.hpp"
#include "api/request_pipeline.hpp"
#include "api/upgrade.hpp"
#include "api/worker_pools.hpp"
#include "domain/error.hpp"

namespace nexu::api {

namespace net = boost::asio;

// Accepts TCP connections on the configured address and hands each to its own
// HttpConnection on a new strand. Past max_connections a connection gets a 503
// and is closed. stop() stops accepting and asks every connection to drain;
// connection_count() tells shutdown when they have all gone.
class Listener {
public:
    Listener(net::io_context& io,
             const RequestPipeline& pipeline,
             const config::HttpSettings& settings,
             WorkerPools workers,
             UpgradeHandler upgrade = {});

    // Binds and listens; Errc::unavailable with the reason (e.g. the port is in
    // use) when it cannot.
    Result<void> open();
    void start_accepting();
    void stop();
    std::size_t connection_count() const { return registry_.size(); }
    std::uint16_t port() const;

private:
    void accept_next();

    net::io_context& io_;
    net::ip::tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    const RequestPipeline& pipeline_;
    const config::HttpSettings& settings_;
    WorkerPools workers_;
    ConnectionRegistry registry_;
    UpgradeHandler upgrade_;  // WebSocket upgrades of GET /ws go here (main wires the chat hub)
    // Long CPU work: streamed uploads and downloads (encryption of each
    // piece) and queries: one thread per core, apart from the request workers. Last, so it
    // is joined first: its pending work may still release connections.
    net::thread_pool transfers_;
};

}  // namespace nexu::api
