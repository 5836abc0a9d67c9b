#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "../repositories/document_service_fixture.hpp"
#include "api/collection_routes.hpp"
#include "api/document_routes.hpp"
#include "api/query_routes.hpp"
#include "api/router.hpp"

namespace nexu::testing {

// The data routes over a real store, called through the Router without
// sockets: a handler sees exactly what the pipeline would hand it.
struct DataRoutes {
    StoreFixture fixture;
    DataServices data{fixture.open_or_throw()};
    api::Router router;

    DataRoutes() {
        api::add_collection_routes(router, data.collections, data.documents, &data.indexes);
        api::add_document_routes(router, data.documents);
        api::add_query_routes(router, data.queries);
    }

    api::Response call(api::http::verb method,
                       const std::string& target,
                       const domain::access::Principal& caller,
                       std::optional<std::string> body = std::nullopt,
                       std::string content_type = "application/json",
                       std::vector<std::pair<api::http::field, std::string>> headers = {}) {
        api::HttpRequest message{method, target, 11};
        if (body) {
            message.set(api::http::field::content_type, content_type);
            message.body() = *body;
        }
        for (const auto& [name, value] : headers) message.set(name, value);
        message.prepare_payload();
        auto match = router.match(method, target);
        if (match.kind != api::RouteMatch::Kind::found) {
            throw std::runtime_error("no route for " + target);
        }
        const api::Request request{message,        match.params, match.route->pattern,
                                   "test-request", "127.0.0.1",  caller};
        return match.route->handler(request);
    }

    static nlohmann::json json_of(const api::Response& response) {
        return nlohmann::json::parse(response.body());
    }
};

}  // namespace nexu::testing
