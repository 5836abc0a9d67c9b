#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace nexu::api {

class HttpConnection;

// The live HTTP connections, so shutdown can ask each to drain and knows when
// the last one has gone. Thread-safe.
class ConnectionRegistry {
public:
    void add(const std::shared_ptr<HttpConnection>& connection);
    void remove(const HttpConnection* connection);
    std::size_t size() const;
    // Calls `fn` on every live connection, outside the lock.
    void for_each(const std::function<void(HttpConnection&)>& fn) const;

private:
    mutable std::mutex mutex_;
    std::unordered_map<const HttpConnection*, std::weak_ptr<HttpConnection>> connections_;
};

}  // namespace nexu::api
