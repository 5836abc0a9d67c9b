#include "api/client_address.hpp"

#include <catch2/catch.hpp>

using nexu::api::client_address;
using nexu::config::Cidr;

TEST_CASE("X-Forwarded-For is ignored unless the peer is a trusted proxy", "[api]") {
    const std::vector<Cidr> none;
    CHECK(client_address("203.0.113.9", "1.2.3.4", none) == "203.0.113.9");
    const std::vector<Cidr> proxies{*Cidr::parse("10.0.0.0/8")};
    CHECK(client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9");
}

TEST_CASE("behind trusted proxies the rightmost untrusted hop is the client", "[api]") {
    const std::vector<Cidr> proxies{*Cidr::parse("10.0.0.0/8")};
    CHECK(client_address("10.0.0.2", "198.51.100.7", proxies) == "198.51.100.7");
    // The client may prepend anything; only hops added by our proxies count.
    CHECK(client_address("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.9", proxies) == "198.51.100.7");
    CHECK(client_address("10.0.0.2", "garbage, 198.51.100.7", proxies) == "198.51.100.7");
    CHECK(client_address("10.0.0.2", "garbage", proxies) == "10.0.0.2");
}
