#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "api/connection_registry.hpp"
#include "api/request_pipeline.hpp"
#include "api/upgrade.hpp"
#include "api/worker_pools.hpp"

namespace nexu::api {

namespace net = boost::asio;
namespace beast = boost::beast;

// One accepted HTTP/1.1 connection: owns its socket, buffer, parser and the
// response being written, and lives while a handler holds a shared_ptr to it.
// All its handlers run on its own strand. Requests are handled one at a time
// in arrival order (pipelined requests wait in the buffer), so at most one
// response is queued: the bound on what a connection can make the server hold.
// A handler that may block runs on the worker pool; its response comes back
// to the strand.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
    HttpConnection(net::ip::tcp::socket socket,
                   const RequestPipeline& pipeline,
                   const config::HttpSettings& settings,
                   WorkerPools workers,
                   net::thread_pool& transfers,  // streamed uploads and downloads
                   ConnectionRegistry& registry,
                   const UpgradeHandler* upgrade = nullptr);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    // Starts reading; `refuse` answers 503 at once (the server is at its
    // connection limit) and closes.
    void start(bool refuse);

    // From any thread: finish the request under way, if any, then close.
    void drain();

private:
    void wait_for_request();
    void on_first_bytes(beast::error_code ec, std::size_t bytes);
    void read_header();
    void on_header(beast::error_code ec, std::size_t bytes);
    void read_body();
    void on_body(beast::error_code ec, std::size_t bytes);
    void handle();
    void send(Response response, bool keep_alive);
    void on_write(beast::error_code ec, std::size_t bytes);
    void send_error_and_close(http::status status,
                              std::string_view slug,
                              std::string_view title,
                              std::string_view detail);
    void reset_pending();
    void close_gracefully();
    void discard_until_closed();
    // GET /ws with Upgrade: websocket and an upgrade handler: hands the stream over.
    bool hand_off_upgrade();

    // Streamed bodies (upload and download routes).
    void start_upload();
    void on_upload_start(UploadStart start);
    void read_upload_piece();
    void on_upload_piece(beast::error_code ec);
    void finish_upload();
    void abandon_upload();
    void send_streamed(StreamedResponse response, bool keep_alive);
    void on_stream_write(beast::error_code ec);
    void on_stream_piece(Result<std::string> piece);
    void release_body_source();

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    HttpRequest request_;
    PendingRequest pending_;
    std::string wire_;  // the response being written, serialised
    std::string peer_address_;
    const RequestPipeline& pipeline_;
    const config::HttpSettings& settings_;
    WorkerPools workers_;
    net::thread_pool& transfers_;
    ConnectionRegistry& registry_;
    const UpgradeHandler* upgrade_;  // the listener's; null or empty: no hand-off
    bool is_keep_alive_ = false;
    bool is_busy_ = false;
    bool is_draining_ = false;
    bool is_closing_ = false;
    std::size_t discarded_bytes_ = 0;
    // Streamed bodies: at most one of these is in use, and only one piece at a
    // time is in flight between the strand and a worker.
    std::optional<http::request_parser<http::buffer_body>> upload_parser_;
    std::unique_ptr<UploadSink> upload_sink_;
    std::string upload_piece_;
    std::unique_ptr<BodySource> body_source_;
    std::uint64_t body_remaining_ = 0;
};

}  // namespace nexu::api
