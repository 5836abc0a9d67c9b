#include "config/cidr.hpp"

#include <catch2/catch.hpp>

using nexu::config::Cidr;

TEST_CASE("IPv4 networks contain their addresses only", "[config]") {
    auto net = Cidr::parse("192.168.1.0/24");
    REQUIRE(net);
    CHECK(net->contains("192.168.1.77"));
    CHECK_FALSE(net->contains("192.168.2.1"));
    CHECK_FALSE(net->contains("not an address"));
    CHECK(Cidr::parse("0.0.0.0/0")->contains("8.8.8.8"));
    CHECK(Cidr::parse("10.0.0.1")->contains("10.0.0.1"));
    CHECK_FALSE(Cidr::parse("10.0.0.1")->contains("10.0.0.2"));
}

TEST_CASE("IPv6 networks and mapped IPv4 addresses", "[config]") {
    CHECK(Cidr::parse("::1")->contains("::1"));
    CHECK(Cidr::parse("fd00::/8")->contains("fd12:3456::1"));
    CHECK_FALSE(Cidr::parse("fd00::/8")->contains("fe80::1"));
    CHECK(Cidr::parse("127.0.0.0/8")->contains("::ffff:127.0.0.1"));
}

TEST_CASE("bad networks are refused", "[config]") {
    CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
    CHECK_FALSE(Cidr::parse("10.0.0.0/x"));
    CHECK_FALSE(Cidr::parse("::/129"));
    CHECK_FALSE(Cidr::parse("example.com"));
    CHECK_FALSE(Cidr::parse(""));
}
