#include "api/connection_registry.hpp"

#include <vector>

#include "api/http_connection.hpp"

namespace nexu::api {

void ConnectionRegistry::add(const std::shared_ptr<HttpConnection>& connection) {
    std::lock_guard lock{mutex_};
    connections_.emplace(connection.get(), connection);
}

void ConnectionRegistry::remove(const HttpConnection* connection) {
    std::lock_guard lock{mutex_};
    connections_.erase(connection);
}

std::size_t ConnectionRegistry::size() const {
    std::lock_guard lock{mutex_};
    return connections_.size();
}

void ConnectionRegistry::for_each(const std::function<void(HttpConnection&)>& fn) const {
    std::vector<std::shared_ptr<HttpConnection>> live;
    {
        std::lock_guard lock{mutex_};
        live.reserve(connections_.size());
        for (const auto& [key, weak] : connections_) {
            if (auto connection = weak.lock()) live.push_back(std::move(connection));
        }
    }
    for (const auto& connection : live) fn(*connection);
}

}  // namespace nexu::api
