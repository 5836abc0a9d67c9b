#include "config/metrics.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("histograms count observations into cumulative buckets", "[config]") {
    nexu::metrics::Registry registry;
    auto& h = registry.histogram("t_seconds", {{"task", "a"}});
    h.observe(30us);
    h.observe(2ms);
    h.observe(20s);
    CHECK(h.count() == 3);
    CHECK(h.sum_seconds() == Approx(20.00203));
    const auto text = registry.render();
    CHECK(text.find("# TYPE t_seconds histogram\n") != std::string::npos);
    CHECK(text.find("t_seconds_bucket{task=\"a\",le=\"5e-05\"} 1\n") != std::string::npos);
    CHECK(text.find("t_seconds_bucket{task=\"a\",le=\"0.0025\"} 2\n") != std::string::npos);
    CHECK(text.find("t_seconds_bucket{task=\"a\",le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("t_seconds_count{task=\"a\"} 3\n") != std::string::npos);
}

TEST_CASE("series are distinct per label set and label values are escaped", "[config]") {
    nexu::metrics::Registry registry;
    registry.describe("requests_total", "Requests.");
    registry.counter("requests_total", {{"route", "/a"}}).add(2);
    registry.counter("requests_total", {{"route", "/a"}}).add();
    registry.counter("requests_total", {{"route", "q\"\\\n"}}).add();
    const auto text = registry.render();
    CHECK(text.find("# HELP requests_total Requests.\n# TYPE requests_total counter\n") !=
          std::string::npos);
    CHECK(text.find("requests_total{route=\"/a\"} 3\n") != std::string::npos);
    CHECK(text.find(R"(requests_total{route="q\"\\\n"} 1)") != std::string::npos);
}

TEST_CASE("gauges go up and down", "[config]") {
    nexu::metrics::Registry registry;
    auto& g = registry.gauge("open");
    g.add(3);
    g.add(-1);
    CHECK(registry.render().find("open 2\n") != std::string::npos);
}
