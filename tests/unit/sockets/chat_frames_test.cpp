#include "sockets/chat_frames.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace nexu;
using Json = nlohmann::json;

TEST_CASE("frames carry exactly the fields of API.md", "[frames]") {
    repositories::ChatMessage message;
    message.id = "m1";
    message.room = "r1";
    message.seq = 7;
    message.from = {"u1", "alice"};
    message.text = "hi \"there\"";
    message.ts = "2026-11-23T15:00:00.000Z";
    message.origin = "secret-origin";

    const auto sent = Json::parse(*sockets::message_frame(message));
    CHECK(sent == Json{{"type", "message"},
                       {"id", "m1"},
                       {"room", "r1"},
                       {"seq", 7},
                       {"from", {{"id", "u1"}, {"username", "alice"}}},
                       {"text", "hi \"there\""},
                       {"ts", "2026-11-23T15:00:00.000Z"}});
    CHECK(Json::parse(*sockets::ack_frame("c1", message)) ==
          Json{{"type", "ack"},
               {"client_id", "c1"},
               {"id", "m1"},
               {"seq", 7},
               {"ts", "2026-11-23T15:00:00.000Z"}});
    CHECK(Json::parse(*sockets::error_frame("bad_json", "nope")) ==
          Json{{"type", "error"}, {"code", "bad_json"}, {"message", "nope"}});
    CHECK(Json::parse(*sockets::error_frame("not_joined", "join", "c9"))["ref"] == "c9");
    CHECK(Json::parse(*sockets::presence_frame("r1", {"u2", "bob"}, false)) ==
          Json{{"type", "presence"},
               {"room", "r1"},
               {"user", {{"id", "u2"}, {"username", "bob"}}},
               {"status", "offline"}});
    CHECK(Json::parse(*sockets::joined_frame("r1", {{"u2", "bob"}}))["online"].size() == 1);
    CHECK(Json::parse(*sockets::history_frame("r1", {message}))["messages"][0]["seq"] == 7);
    CHECK(Json::parse(*sockets::pong_frame()) == Json{{"type", "pong"}});
}
