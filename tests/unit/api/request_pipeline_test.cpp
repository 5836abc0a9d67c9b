#include "api/request_pipeline.hpp"

#include <mutex>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "api/json_request.hpp"

using namespace nexu::api;
using nlohmann::json;

namespace {

Router echo_router() {
    Router router;
    router.add(http::verb::post, "/echo/{name}", [](const Request& request) {
        auto body = read_json_body(request);
        if (!body) return std::move(body.error());
        return json_response(http::status::ok,
                             json{{"name", request.param("name")}, {"body", *body}}.dump());
    });
    router.add(http::verb::get, "/boom", [](const Request&) -> Response {
        throw std::runtime_error("secret internal detail");
    });
    return router;
}

struct Exchange {
    PendingRequest pending;
    Response response;
};

Exchange exchange(const RequestPipeline& pipeline,
                  HttpRequest message,
                  std::string_view peer = "127.0.0.1") {
    message.prepare_payload();
    Exchange result{pipeline.prepare(message.base(), peer), {}};
    if (result.pending.early_response) {
        result.response = std::move(*result.pending.early_response);
    } else {
        result.response = pipeline.run(result.pending, message);
    }
    pipeline.finish(result.pending, result.response, true);
    return result;
}

HttpRequest post_json(std::string target,
                      std::string body,
                      std::string content_type = "application/json") {
    HttpRequest message{http::verb::post, target, 11};
    message.set(http::field::content_type, content_type);
    message.body() = std::move(body);
    return message;
}

json body_of(const Response& response) {
    return json::parse(response.body());
}

}  // namespace

TEST_CASE("a JSON body reaches the handler with its path parameter", "[api]") {
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{echo_router(), settings};
    auto result = exchange(pipeline, post_json("/echo/n%C3%A9", R"({"a":[1,2]})"));
    CHECK(result.response.result() == http::status::ok);
    CHECK(body_of(result.response) == json{{"name", "n\xc3\xa9"}, {"body", {{"a", {1, 2}}}}});
    CHECK(result.pending.route_label == "/echo/{name}");
}

TEST_CASE("every response carries the request id and security headers", "[api]") {
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{echo_router(), settings};
    auto message = post_json("/echo/x", "{}");
    message.set("X-Request-Id", "client-id-1");
    for (auto& result :
         {exchange(pipeline, message), exchange(pipeline, post_json("/nope", "{}"))}) {
        CHECK(result.response["X-Content-Type-Options"] == "nosniff");
        CHECK(result.response["X-Frame-Options"] == "DENY");
        CHECK(result.response["Referrer-Policy"] == "no-referrer");
        CHECK(result.response[http::field::cache_control] == "no-store");
        CHECK(result.response.find(http::field::server) == result.response.end());
        CHECK_FALSE(result.response["X-Request-Id"].empty());
    }
    CHECK(exchange(pipeline, message).response["X-Request-Id"] == "client-id-1");
}

TEST_CASE("bad JSON is a 400 problem naming the position", "[api]") {
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{echo_router(), settings};
    auto result = exchange(pipeline, post_json("/echo/x", R"({"a":1,,})"));
    CHECK(result.response.result() == http::status::bad_request);
    CHECK(result.response[http::field::content_type] == "application/problem+json");
    const auto problem = body_of(result.response);
    CHECK(problem["type"] == "/problems/invalid-json");
    CHECK(problem["status"] == 400);
    CHECK(problem["detail"].get<std::string>().find("at position 7") != std::string::npos);
}

TEST_CASE("JSON nested past 64 levels is a 400 before anything recursive runs", "[api]") {
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{echo_router(), settings};
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    auto result = exchange(pipeline, post_json("/echo/x", deep));
    CHECK(result.response.result() == http::status::bad_request);
    CHECK(body_of(result.response)["type"] == "/problems/json-too-deep");
}

TEST_CASE("another media type is a 415", "[api]") {
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{echo_router(), settings};
    auto result = exchange(pipeline, post_json("/echo/x", "{}", "text/plain"));
    CHECK(result.response.result() == http::status::unsupported_media_type);
    CHECK(exchange(pipeline, post_json("/echo/x", "{}", "Application/JSON; charset=utf-8"))
              .response.result() == http::status::ok);
}

TEST_CASE("an announced body over the limit is a 413 before routing", "[api]") {
    nexu::config::HttpSettings settings;
    settings.max_body_bytes = 1024;
    const RequestPipeline pipeline{echo_router(), settings};
    HttpRequest header{http::verb::post, "/echo/x", 11};
    header.set(http::field::content_length, "2048");
    auto pending = pipeline.prepare(header.base(), "127.0.0.1");
    REQUIRE(pending.early_response);
    CHECK(pending.early_response->result() == http::status::payload_too_large);
    header.target("/unknown");
    CHECK(pipeline.prepare(header.base(), "127.0.0.1").early_response->result() ==
          http::status::payload_too_large);
}

TEST_CASE("a throwing handler becomes a 500 problem without its message", "[api]") {
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{echo_router(), settings};
    auto result = exchange(pipeline, HttpRequest{http::verb::get, "/boom", 11});
    CHECK(result.response.result() == http::status::internal_server_error);
    CHECK(result.response.body().find("secret") == std::string::npos);
}

TEST_CASE("unknown routes are 404 and wrong methods 405 with Allow", "[api]") {
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{echo_router(), settings};
    auto missing = exchange(pipeline, HttpRequest{http::verb::get, "/missing", 11});
    CHECK(missing.response.result() == http::status::not_found);
    CHECK(body_of(missing.response)["type"] == "/problems/not-found");
    auto wrong = exchange(pipeline, HttpRequest{http::verb::get, "/echo/x", 11});
    CHECK(wrong.response.result() == http::status::method_not_allowed);
    CHECK(wrong.response[http::field::allow] == "POST, OPTIONS");
    CHECK(wrong.pending.route_label == "unmatched");
}

TEST_CASE("CORS preflight and actual requests follow the allow-list", "[api]") {
    nexu::config::HttpSettings settings;
    settings.cors_origins = {"https://app.example"};
    const RequestPipeline pipeline{echo_router(), settings};
    HttpRequest preflight{http::verb::options, "/echo/x", 11};
    preflight.set(http::field::origin, "https://app.example");
    preflight.set(http::field::access_control_request_method, "POST");
    auto allowed = exchange(pipeline, preflight);
    CHECK(allowed.response.result() == http::status::no_content);
    CHECK(allowed.response[http::field::access_control_allow_methods] == "POST, OPTIONS");
    preflight.set(http::field::origin, "https://evil.example");
    auto refused = exchange(pipeline, preflight);
    CHECK(refused.response.result() == http::status::forbidden);
    CHECK(refused.response.find(http::field::access_control_allow_origin) ==
          refused.response.end());

    auto actual = post_json("/echo/x", "{}");
    actual.set(http::field::origin, "https://app.example");
    CHECK(exchange(pipeline, actual).response[http::field::access_control_allow_origin] ==
          "https://app.example");
}

namespace {

// What reached the client through a deferred route; shared so late answers
// from other threads land somewhere that still exists.
struct Answers {
    std::mutex mutex;
    std::vector<Response> items;
    std::size_t size() {
        std::lock_guard lock{mutex};
        return items.size();
    }
};

std::shared_ptr<Answers> run_deferred(DeferredHandler handler) {
    Router router;
    router.add_deferred(http::verb::get, "/later", std::move(handler));
    nexu::config::HttpSettings settings;
    const RequestPipeline pipeline{std::move(router), settings};
    HttpRequest message{http::verb::get, "/later", 11};
    auto pending = pipeline.prepare(message.base(), "127.0.0.1");
    auto answers = std::make_shared<Answers>();
    pipeline.run(pending, message, [answers](Response response) {
        std::lock_guard lock{answers->mutex};
        answers->items.push_back(std::move(response));
    });
    return answers;
}

}  // namespace

TEST_CASE("a deferred handler answers later, from another thread, exactly once", "[api]") {
    Respond saved;
    auto answers =
        run_deferred([&](const Request&, Respond respond) { saved = std::move(respond); });
    CHECK(answers->size() == 0);
    std::thread worker([&] {
        saved(json_response(http::status::ok, "{}"));
        saved(json_response(http::status::accepted, "{}"));
    });
    worker.join();
    saved = nullptr;  // the last copy goes: no 500 after a real answer
    REQUIRE(answers->size() == 1);
    CHECK(answers->items[0].result() == http::status::ok);
}

TEST_CASE("a deferred handler that throws or drops its responder gets a 500", "[api]") {
    auto thrown = run_deferred([](const Request&, Respond) { throw std::runtime_error("x"); });
    REQUIRE(thrown->size() == 1);
    CHECK(thrown->items[0].result() == http::status::internal_server_error);
    auto dropped = run_deferred([](const Request&, Respond) {});
    REQUIRE(dropped->size() == 1);
    CHECK(dropped->items[0].result() == http::status::internal_server_error);
    auto answered_twice = run_deferred([](const Request&, Respond respond) {
        respond(json_response(http::status::ok, "{}"));
        respond(json_response(http::status::accepted, "{}"));
    });
    REQUIRE(answered_twice->size() == 1);
    CHECK(answered_twice->items[0].result() == http::status::ok);
}
