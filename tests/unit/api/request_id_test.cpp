#include "api/request_id.hpp"

#include <catch2/catch.hpp>

using nexu::api::request_id_for;

TEST_CASE("a sane client request id is echoed", "[api]") {
    CHECK(request_id_for("abc-123_x.y:z") == "abc-123_x.y:z");
}

TEST_CASE("an insane or missing request id is replaced by a fresh one", "[api]") {
    for (const std::string& bad : {std::string{}, std::string(129, 'a'), std::string{"a b"},
                                   std::string{"x\r\nSet-Cookie: y"}, std::string{"<script>"}}) {
        const auto id = request_id_for(bad);
        CHECK(id.size() == 16);
        CHECK(id != bad);
    }
    CHECK(request_id_for("") != request_id_for(""));
}
