#include "api/listener.hpp"

#include <algorithm>
#include <thread>

#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "api/http_connection.hpp"

namespace nexu::api {

Listener::Listener(net::io_context& io,
                   const RequestPipeline& pipeline,
                   const config::HttpSettings& settings,
                   WorkerPools workers,
                   UpgradeHandler upgrade)
    : io_(io),
      acceptor_(net::make_strand(io)),
      retry_timer_(acceptor_.get_executor()),
      pipeline_(pipeline),
      settings_(settings),
      workers_(workers),
      upgrade_(std::move(upgrade)),
      transfers_(std::max(2U, std::thread::hardware_concurrency())) {}

Result<void> Listener::open() {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(settings_.bind_address, ec);
    if (ec) return fail(Errc::invalid_argument, "NEXU_BIND: " + ec.message());
    const net::ip::tcp::endpoint endpoint{address, settings_.port};
    const auto where = settings_.bind_address + ":" + std::to_string(settings_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (ec) return fail(Errc::unavailable, "cannot listen on " + where + ": " + ec.message());
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return fail(Errc::unavailable, "cannot listen on " + where + ": " + ec.message());
    return {};
}

std::uint16_t Listener::port() const {
    boost::system::error_code ec;
    const auto endpoint = acceptor_.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

void Listener::start_accepting() {
    net::dispatch(acceptor_.get_executor(), [this] { accept_next(); });
}

void Listener::accept_next() {
    acceptor_.async_accept(
        net::make_strand(io_), [this](boost::system::error_code ec, net::ip::tcp::socket socket) {
            if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
            if (ec) {
                // EMFILE and friends: log, pause briefly so the loop cannot spin, retry.
                spdlog::warn("accept failed: {}", ec.message());
                retry_timer_.expires_after(std::chrono::milliseconds(50));
                retry_timer_.async_wait([this](boost::system::error_code wait_ec) {
                    if (!wait_ec && acceptor_.is_open()) accept_next();
                });
                return;
            } else {
                const bool refuse = registry_.size() >= settings_.max_connections;
                auto connection =
                    std::make_shared<HttpConnection>(std::move(socket), pipeline_, settings_,
                                                     workers_, transfers_, registry_, &upgrade_);
                registry_.add(connection);
                connection->start(refuse);
            }
            accept_next();
        });
}

void Listener::stop() {
    net::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        retry_timer_.cancel();
    });
    registry_.for_each([](HttpConnection& connection) { connection.drain(); });
}

}  // namespace nexu::api
