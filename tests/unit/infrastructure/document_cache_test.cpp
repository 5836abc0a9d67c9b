#include "infrastructure/document_cache.hpp"

#include <catch2/catch.hpp>

using nexu::infrastructure::DocumentCache;

TEST_CASE("the cache returns a body only at the cached revision", "[cache]") {
    DocumentCache cache{1024 * 1024};
    cache.insert("1/a", 2, std::make_shared<const std::string>("two"));
    CHECK(*cache.find("1/a", 2) == "two");
    CHECK(cache.find("1/a", 1) == nullptr);
    CHECK(cache.find("1/b", 2) == nullptr);
    cache.insert("1/a", 1, std::make_shared<const std::string>("one"));  // older: ignored
    CHECK(*cache.find("1/a", 2) == "two");
    cache.erase("1/a");
    CHECK(cache.find("1/a", 2) == nullptr);
}

TEST_CASE("the cache stays within its byte budget", "[cache]") {
    DocumentCache cache{64 * 1024};
    for (int i = 0; i < 10'000; ++i) {
        cache.insert("1/" + std::to_string(i), 1, std::make_shared<const std::string>(1000, 'x'));
        REQUIRE(cache.used_bytes() <= cache.budget_bytes());
    }
    CHECK(cache.used_bytes() > cache.budget_bytes() / 2);
    // The newest entries survive, the oldest were evicted.
    CHECK(cache.find("1/9999", 1) != nullptr);
    CHECK(cache.find("1/0", 1) == nullptr);
}
