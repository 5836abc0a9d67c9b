#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace nexu::sockets {

namespace net = boost::asio;
namespace beast = boost::beast;

// The layer under a chat connection's websocket::stream that lets several
// WebSocket frames leave in one socket write (like a corked Node socket).
// Between hold() and release(), the frames Beast writes are copied into one
// buffer and their writes complete at once; release() sends the buffer with
// a single async_write. Outside hold() (and for Beast's own control frames:
// pong, ping, close) a write completes only once its bytes are on the
// socket, so a close frame is really sent before the teardown.
//
// Writes are always sent in the order they were made, one socket write at a
// time. At most kMaxHeldBytes are held: past that, writes wait for the
// socket (so a reader that stops reading still stalls the session's queue,
// which then passes its bound and is disconnected).
//
// Not thread-safe: use it on its executor (the connection's strand), as
// Beast does. The buffers live in shared state, so a socket write still in
// flight when the stream is destroyed touches no freed memory.
class CoalescingStream {
public:
    using executor_type = beast::tcp_stream::executor_type;
    using next_layer_type = beast::tcp_stream;

    static constexpr std::size_t kMaxHeldBytes = 64 * 1024;

    explicit CoalescingStream(beast::tcp_stream stream)
        : next_(std::move(stream)), state_(std::make_shared<State>()) {}
    ~CoalescingStream() { state_->is_alive = false; }
    CoalescingStream(const CoalescingStream&) = delete;
    CoalescingStream& operator=(const CoalescingStream&) = delete;

    executor_type get_executor() noexcept { return next_.get_executor(); }
    beast::tcp_stream& next_layer() noexcept { return next_; }
    const beast::tcp_stream& next_layer() const noexcept { return next_; }

    template <class MutableBufferSequence, class ReadHandler>
    auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
        return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
    }

    template <class ConstBufferSequence, class WriteHandler>
    auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
        return net::async_initiate<WriteHandler, void(beast::error_code, std::size_t)>(
            [this](Handler done, const ConstBufferSequence& data) {
                write(data, std::move(done));
            },
            handler, buffers);
    }

    // Writes from now on are gathered (up to kMaxHeldBytes).
    void hold() { state_->is_holding = true; }
    // Sends what was gathered in one socket write.
    void release() {
        state_->is_holding = false;
        flush();
    }

private:
    using Handler = net::any_completion_handler<void(beast::error_code, std::size_t)>;
    struct Waiter {
        Handler handler;
        std::size_t bytes = 0;
    };
    struct State {
        bool is_alive = true;  // false once the stream is destroyed
        bool is_holding = false;
        bool is_flushing = false;
        beast::error_code failed;
        std::vector<char> pending;  // bytes not yet handed to the socket
        std::deque<Waiter> waiting;  // writes that complete when `pending` is sent
        std::vector<char> in_flight;
        std::deque<Waiter> in_flight_waiting;
    };

    void complete_later(Handler handler, beast::error_code ec, std::size_t bytes) {
        net::post(next_.get_executor(), [handler = std::move(handler), ec, bytes]() mutable {
            std::move(handler)(ec, bytes);
        });
    }

    template <class ConstBufferSequence>
    void write(const ConstBufferSequence& buffers, Handler handler) {
        auto& state = *state_;
        if (state.failed) return complete_later(std::move(handler), state.failed, 0);
        const auto bytes = net::buffer_size(buffers);
        const auto old_size = state.pending.size();
        state.pending.resize(old_size + bytes);
        net::buffer_copy(net::buffer(state.pending.data() + old_size, bytes), buffers);
        const bool gathers = state.is_holding && state.pending.size() <= kMaxHeldBytes;
        if (gathers) {
            complete_later(std::move(handler), {}, bytes);
            return;
        }
        state.waiting.push_back({std::move(handler), bytes});
        flush();
    }

    void flush() {
        auto& state = *state_;
        if (state.is_flushing || state.pending.empty() || state.failed) return;
        state.is_flushing = true;
        std::swap(state.pending, state.in_flight);
        std::swap(state.waiting, state.in_flight_waiting);
        net::async_write(
            next_.socket(), net::buffer(state.in_flight),
            [this, keep = state_](beast::error_code ec, std::size_t) {
                auto& done = *keep;
                done.is_flushing = false;
                done.in_flight.clear();
                if (done.in_flight.capacity() > kMaxHeldBytes) done.in_flight.shrink_to_fit();
                auto finished = std::move(done.in_flight_waiting);
                done.in_flight_waiting.clear();
                if (ec) {
                    done.failed = ec;
                    for (auto& waiter : done.waiting) finished.push_back(std::move(waiter));
                    done.waiting.clear();
                    done.pending.clear();
                }
                for (auto& waiter : finished) {
                    std::move(waiter.handler)(ec, ec ? 0 : waiter.bytes);
                }
                if (ec || !done.is_alive) return;  // failed, or the stream is gone
                if (!done.pending.empty() && (!done.is_holding || !done.waiting.empty() ||
                                              done.pending.size() > kMaxHeldBytes)) {
                    flush();
                }
            });
    }

    beast::tcp_stream next_;
    std::shared_ptr<State> state_;

    friend void teardown(beast::role_type role, CoalescingStream& stream, beast::error_code& ec) {
        beast::websocket::teardown(role, stream.next_.socket(), ec);
    }
    template <class TeardownHandler>
    friend void async_teardown(beast::role_type role,
                               CoalescingStream& stream,
                               TeardownHandler&& handler) {
        beast::websocket::async_teardown(role, stream.next_.socket(),
                                         std::forward<TeardownHandler>(handler));
    }
};

}  // namespace nexu::sockets
