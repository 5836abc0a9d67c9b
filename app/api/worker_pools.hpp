#pragma once

#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/verb.hpp>

namespace nexu::api {

// The thread pools request handlers run on (docs/architecture.md "Threads").
// Reads (GET, HEAD) get a small pool, one thread per core: a read is short
// CPU work, and every thread more adds context switches (one Release run of
// W1 on one core: 30,945 / 22,997 req/s with one read thread, 18,810 /
// 18,128 with two). A request that changes data spends most of its time
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
