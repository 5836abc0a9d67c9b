#include "api/http_connection.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "api/problem.hpp"
#include "api/request_id.hpp"
#include "api/response_writer.hpp"
#include "config/metrics.hpp"

namespace nexu::api {

namespace {

// After refusing a request whose body we did not read, keep reading (and
// dropping) for a moment so the client sees our answer rather than a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kMaxLingerBytes = 4 * 1024 * 1024;
// The serialised response buffer is reused between requests unless a large
// body made it big.
constexpr std::size_t kMaxKeptWireBytes = 64 * 1024;
// An upload body is read from the socket in pieces of this size, each handed
// to the sink on a worker before the next is read.
constexpr std::size_t kUploadPieceBytes = 64 * 1024;

metrics::Gauge& open_connections() {
    static auto& gauge = metrics::registry().gauge("nexu_http_connections_open");
    return gauge;
}

}  // namespace

HttpConnection::HttpConnection(net::ip::tcp::socket socket,
                               const RequestPipeline& pipeline,
                               const config::HttpSettings& settings,
                               WorkerPools workers,
                               net::thread_pool& transfers,
                               ConnectionRegistry& registry,
                               const UpgradeHandler* upgrade)
    : stream_(std::move(socket)),
      pipeline_(pipeline),
      settings_(settings),
      workers_(workers),
      transfers_(transfers),
      registry_(registry),
      upgrade_(upgrade) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) {
        const auto address = endpoint.address();
        peer_address_ =
            address.is_v6() && address.to_v6().is_v4_mapped()
                ? net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string()
                : address.to_string();
    }
    stream_.socket().set_option(net::ip::tcp::no_delay{true}, ec);
    open_connections().add(1);
}

HttpConnection::~HttpConnection() {
    registry_.remove(this);
    open_connections().add(-1);
}

void HttpConnection::start(bool refuse) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), refuse] {
        if (!refuse) return self->wait_for_request();
        self->is_busy_ = true;
        self->reset_pending();
        self->send_error_and_close(http::status::service_unavailable, "unavailable",
                                   "Service Unavailable",
                                   "The server is at its connection limit; retry shortly.");
    });
}

void HttpConnection::drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
        self->is_draining_ = true;
        // An idle connection closes now; a busy one after its response.
        if (!self->is_busy_ && !self->is_closing_) self->close_gracefully();
    });
}

void HttpConnection::wait_for_request() {
    is_busy_ = false;
    if (is_draining_) return close_gracefully();
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    stream_.expires_after(settings_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(8192),
                            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                                self->on_first_bytes(ec, bytes);
                            });
}

void HttpConnection::on_first_bytes(beast::error_code ec, std::size_t bytes) {
    if (ec) return close_gracefully();  // idle timeout, EOF, reset, or drained
    buffer_.commit(bytes);
    read_header();
}

void HttpConnection::read_header() {
    is_busy_ = true;
    reset_pending();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(settings_.max_header_bytes));
    // Beast would refuse a large Content-Length while parsing the header, before
    // we know the route's own limit; the pipeline checks it instead.
    parser_->body_limit(boost::none);
    // The header deadline runs from the first byte, so a client that trickles
    // its header cannot hold the connection past it.
    stream_.expires_after(settings_.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                                self->on_header(ec, bytes);
                            });
}

void HttpConnection::on_header(beast::error_code ec, std::size_t) {
    if (ec == http::error::header_limit) {
        return send_error_and_close(http::status::request_header_fields_too_large,
                                    "header-too-large", "Request Header Fields Too Large",
                                    "The header block is larger than " +
                                        std::to_string(settings_.max_header_bytes) + " bytes.");
    }
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
        return close_gracefully();
    }
    if (ec) {
        spdlog::debug("unparseable request from {}: {}", peer_address_, ec.message());
        return send_error_and_close(http::status::bad_request, "bad-request", "Bad Request",
                                    "The request is not valid HTTP/1.1.");
    }

    if (hand_off_upgrade()) return;
    pending_ = pipeline_.prepare(parser_->get().base(), peer_address_);
    if (pending_.early_response) {
        // The body was not read, so the connection cannot carry another request.
        const bool keep_alive = parser_->is_done() && parser_->get().keep_alive();
        return send(std::move(*pending_.early_response), keep_alive);
    }
    parser_->body_limit(pending_.body_limit);
    if (pending_.route->upload_handler) return start_upload();
    if (parser_->is_done()) return handle();

    const auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
        auto proceed =
            std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
        stream_.expires_after(settings_.body_timeout);
        http::async_write(
            stream_, *proceed,
            [self = shared_from_this(), proceed](beast::error_code write_ec, std::size_t) {
                if (write_ec) return self->close_gracefully();
                self->read_body();
            });
        return;
    }
    read_body();
}

bool HttpConnection::hand_off_upgrade() {
    if (upgrade_ == nullptr || !*upgrade_ || !parser_->is_done() ||
        !boost::beast::websocket::is_upgrade(parser_->get())) {
        return false;
    }
    const std::string_view target = parser_->get().target();
    if (target.substr(0, target.find('?')) != kWebSocketPath) return false;
    is_closing_ = true;  // this object does nothing more with the stream
    stream_.expires_never();
    (*upgrade_)(Upgrade{std::move(stream_), parser_->release(), std::move(buffer_), peer_address_});
    return true;
}

void HttpConnection::read_body() {
    stream_.expires_after(settings_.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                         self->on_body(ec, bytes);
                     });
}

void HttpConnection::on_body(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
        pending_.early_response =
            problem(http::status::payload_too_large, "payload-too-large", "Payload Too Large",
                    "The request body is larger than the limit of " +
                        std::to_string(pending_.body_limit) + " bytes.");
        return send(std::move(*pending_.early_response), false);
    }
    if (ec == beast::error::timeout) {
        pending_.early_response =
            problem(http::status::request_timeout, "request-timeout", "Request Timeout",
                    "The request body did not arrive in time.");
        return send(std::move(*pending_.early_response), false);
    }
    if (ec) return close_gracefully();
    handle();
}

void HttpConnection::handle() {
    request_ = parser_->release();
    parser_.reset();
    const bool keep_alive = request_.keep_alive();
    // The strand starts no other operation on pending_ or request_ until the
    // response comes back, so a worker or a deferred handler may read them
    // without a lock.
    auto run = [self = shared_from_this(), keep_alive] {
        self->pipeline_.run(self->pending_, self->request_, [self, keep_alive](Response response) {
            net::post(self->stream_.get_executor(),
                      [self, keep_alive, response = std::move(response)]() mutable {
                          self->send(std::move(response), keep_alive);
                      });
        });
    };
    if (pending_.route->stream_handler) {
        net::post(transfers_, [self = shared_from_this(), keep_alive] {
            auto response = self->pipeline_.run_streamed(self->pending_, self->request_);
            net::post(self->stream_.get_executor(),
                      [self, keep_alive, response = std::move(response)]() mutable {
                          self->send_streamed(std::move(response), keep_alive);
                      });
        });
        return;
    }
    if (pending_.dispatch == Dispatch::io_thread && !pending_.route->deferred_handler) {
        return send(pipeline_.run(pending_, request_), keep_alive);  // no hop for cheap routes
    }
    if (pending_.dispatch == Dispatch::io_thread) return run();
    // Queries are long CPU work: on the transfer pool, so a GET never waits
    // behind one in the read pool's queue.
    if (pending_.dispatch == Dispatch::read_worker) return net::post(transfers_, std::move(run));
    net::post(workers_.for_method(request_.method()), std::move(run));
}

void HttpConnection::send(Response response, bool keep_alive) {
    pipeline_.finish(pending_, response, keep_alive && !is_draining_);
    is_keep_alive_ = response.keep_alive();
    wire_.clear();
    serialize_response(response, wire_);
    stream_.expires_after(settings_.idle_timeout);  // a client that will not read is cut off
    net::async_write(stream_, net::buffer(wire_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                         self->on_write(ec, bytes);
                     });
}

void HttpConnection::on_write(beast::error_code ec, std::size_t) {
    const bool keep_alive = is_keep_alive_;
    request_ = {};
    if (wire_.capacity() > kMaxKeptWireBytes) std::string{}.swap(wire_);
    if (ec) return close_gracefully();
    if (!keep_alive) {
        is_closing_ = true;
        beast::error_code ignored;
        stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
        return discard_until_closed();
    }
    wait_for_request();
}

void HttpConnection::send_error_and_close(http::status status,
                                          std::string_view slug,
                                          std::string_view title,
                                          std::string_view detail) {
    send(problem(status, slug, title, detail), false);
}

void HttpConnection::reset_pending() {
    // Until a header block parses, a response is logged and counted as unmatched.
    pending_ = PendingRequest{};
    pending_.started = std::chrono::steady_clock::now();
    pending_.method_text = "OTHER";
    pending_.request_id = request_id_for({});
    pending_.client_address = peer_address_;
}

void HttpConnection::discard_until_closed() {
    // Read and drop what the client still sends, for a bounded time and size.
    stream_.expires_after(kLingerTime);
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                self->discarded_bytes_ += n;
                                if (ec || self->discarded_bytes_ > kMaxLingerBytes) {
                                    beast::error_code ignored;
                                    self->stream_.socket().close(ignored);
                                    return;
                                }
                                self->discard_until_closed();
                            });
}

void HttpConnection::close_gracefully() {
    is_closing_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
}

// ---- streamed bodies ----
// Upload routes: the handler decides from the header block on a worker; the
// body is then read in pieces, each written by the sink on a worker before
// the next is read, so memory stays at one piece whatever the size. Streamed
// responses: the head goes out, then one piece at a time from the source,
// produced on a worker. Sinks and sources are released on workers (they may
// remove files). These workers are the listener's transfer pool, sized for
// the cores and kept apart from the request workers, so a long transfer never
// holds up reads, and its pieces, spread over many write threads, would leave
// a little allocator memory behind in each.

void HttpConnection::start_upload() {
    // The strand touches neither parser_ nor pending_ until the answer is back.
    net::post(transfers_, [self = shared_from_this()] {
        auto start = self->pipeline_.start_upload(self->pending_, self->parser_->get());
        net::post(self->stream_.get_executor(), [self, start = std::move(start)]() mutable {
            self->on_upload_start(std::move(start));
        });
    });
}

void HttpConnection::on_upload_start(UploadStart start) {
    if (start.refusal) {
        // The body was not read, so the connection cannot carry another request.
        const bool keep_alive = parser_->is_done() && parser_->get().keep_alive();
        return send(std::move(*start.refusal), keep_alive);
    }
    upload_sink_ = std::move(start.sink);
    upload_parser_.emplace(std::move(*parser_));
    parser_.reset();
    if (upload_parser_->is_done()) return finish_upload();
    // 100 Continue only once the upload is accepted: a refused one never sends its body.
    const auto expect = upload_parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
        auto proceed =
            std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
        stream_.expires_after(settings_.body_timeout);
        http::async_write(
            stream_, *proceed,
            [self = shared_from_this(), proceed](beast::error_code write_ec, std::size_t) {
                if (write_ec) {
                    self->abandon_upload();
                    return self->close_gracefully();
                }
                self->read_upload_piece();
            });
        return;
    }
    read_upload_piece();
}

void HttpConnection::read_upload_piece() {
    upload_piece_.resize(kUploadPieceBytes);
    auto& body = upload_parser_->get().body();
    body.data = upload_piece_.data();
    body.size = upload_piece_.size();
    body.more = true;
    // The deadline runs per piece: a large upload may take long, a stalled one may not.
    stream_.expires_after(settings_.body_timeout);
    http::async_read_some(stream_, buffer_, *upload_parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_upload_piece(ec);
                          });
}

void HttpConnection::on_upload_piece(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};  // the piece is full
    if (ec == http::error::body_limit) {
        abandon_upload();
        return send(
            problem(http::status::payload_too_large, "payload-too-large", "Payload Too Large",
                    "The request body is larger than the limit of " +
                        std::to_string(pending_.body_limit) + " bytes."),
            false);
    }
    if (ec == beast::error::timeout) {
        abandon_upload();
        return send(problem(http::status::request_timeout, "request-timeout", "Request Timeout",
                            "The request body did not arrive in time."),
                    false);
    }
    if (ec) {
        spdlog::info("upload abandoned route={} request_id={}: {}", pending_.route_label,
                     pending_.request_id, ec.message());
        abandon_upload();
        return close_gracefully();
    }
    const auto filled = upload_piece_.size() - upload_parser_->get().body().size;
    if (filled == 0) {
        if (upload_parser_->is_done()) return finish_upload();
        return read_upload_piece();
    }
    net::post(transfers_, [self = shared_from_this(), filled] {
        auto refusal =
            self->upload_sink_->write(std::string_view{self->upload_piece_}.substr(0, filled));
        net::post(self->stream_.get_executor(), [self, refusal = std::move(refusal)]() mutable {
            if (refusal) {
                self->abandon_upload();
                return self->send(std::move(*refusal), false);
            }
            if (self->upload_parser_->is_done()) return self->finish_upload();
            self->read_upload_piece();
        });
    });
}

void HttpConnection::finish_upload() {
    const bool keep_alive = upload_parser_->get().keep_alive();
    upload_parser_.reset();
    std::string{}.swap(upload_piece_);
    net::post(transfers_,
              [self = shared_from_this(), keep_alive, sink = std::move(upload_sink_)]() mutable {
                  auto response = sink->finish();
                  sink.reset();
                  net::post(self->stream_.get_executor(),
                            [self, keep_alive, response = std::move(response)]() mutable {
                                self->send(std::move(response), keep_alive);
                            });
              });
}

void HttpConnection::abandon_upload() {
    upload_parser_.reset();
    std::string{}.swap(upload_piece_);
    if (!upload_sink_) return;
    net::post(transfers_, [sink = std::move(upload_sink_)]() mutable { sink.reset(); });
}

void HttpConnection::send_streamed(StreamedResponse response, bool keep_alive) {
    if (!response.body) return send(std::move(response.head), keep_alive);
    pipeline_.finish_streamed(pending_, response.head, response.content_length,
                              keep_alive && !is_draining_);
    is_keep_alive_ = response.head.keep_alive();
    wire_.clear();
    serialize_response(response.head, wire_);  // the head alone: its body is empty
    body_source_ = std::move(response.body);
    body_remaining_ = pending_.method == http::verb::head ? 0 : response.content_length;
    stream_.expires_after(settings_.idle_timeout);
    net::async_write(stream_, net::buffer(wire_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->on_stream_write(ec);
                     });
}

void HttpConnection::on_stream_write(beast::error_code ec) {
    if (ec || body_remaining_ == 0) {
        release_body_source();
        return on_write(ec, 0);
    }
    net::post(transfers_, [self = shared_from_this()] {
        auto piece = self->body_source_->next();
        net::post(self->stream_.get_executor(), [self, piece = std::move(piece)]() mutable {
            self->on_stream_piece(std::move(piece));
        });
    });
}

void HttpConnection::on_stream_piece(Result<std::string> piece) {
    if (!piece || piece->empty() || piece->size() > body_remaining_) {
        // The head is out: the only honest signal left is to cut the connection
        // short of its Content-Length.
        spdlog::error("streamed body failed route={} request_id={}: {}", pending_.route_label,
                      pending_.request_id,
                      piece ? std::string{"source ended early"} : piece.error().context);
        release_body_source();
        request_ = {};
        return close_gracefully();
    }
    body_remaining_ -= piece->size();
    wire_ = std::move(*piece);
    stream_.expires_after(settings_.idle_timeout);  // a client that will not read is cut off
    net::async_write(stream_, net::buffer(wire_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->on_stream_write(ec);
                     });
}

void HttpConnection::release_body_source() {
    if (!body_source_) return;
    net::post(transfers_, [source = std::move(body_source_)]() mutable { source.reset(); });
}

}  // namespace nexu::api
