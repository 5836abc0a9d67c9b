#pragma once

#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/verb.hpp>

namespace nexu::api {

// The thread pools request handlers run on (docs/architecture.md "Threads").
// Reads (GET, HEAD) and queries get a small pool sized for the cores. A
// request that changes data spends most of its time
// waiting for the store's group commit, and a commit gathers only the writes
// whose threads are waiting at that moment, so writes get a large pool of
// their own: many writes share one fsync, and their threads never crowd the
// readers' pool (64 threads there cost a third of W1's throughput).
struct WorkerPools {
    boost::asio::thread_pool& reads;
    boost::asio::thread_pool& writes;

    boost::asio::thread_pool& for_method(boost::beast::http::verb method) const {
        const bool is_read =
            method == boost::beast::http::verb::get || method == boost::beast::http::verb::head;
        return is_read ? reads : writes;
    }
};

}  // namespace nexu::api
