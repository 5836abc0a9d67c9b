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

TEST_CASE("help text escapes backslash and newline, label values also the double quote",
          "[config]") {
    nexu::metrics::Registry registry;
    registry.describe("esc_total", "a \\ b\nc \"q\"");
    registry.counter("esc_total", {{"path", "C:\\x\n\"y\""}}).add(5);
    const auto text = registry.render();
    CHECK(text.find("# HELP esc_total a \\\\ b\\nc \"q\"\n") != std::string::npos);
    CHECK(text.find("esc_total{path=\"C:\\\\x\\n\\\"y\\\"\"} 5\n") != std::string::npos);
    // Nothing unescaped: every line of the output is one line of the format.
    CHECK(text.find("\nc ") == std::string::npos);
}

TEST_CASE("labels named in any order are one series and HELP and TYPE appear once",
          "[config]") {
    nexu::metrics::Registry registry;
    registry.describe("pairs_total", "Pairs.");
    registry.counter("pairs_total", {{"a", "1"}, {"b", "2"}}).add();
    registry.counter("pairs_total", {{"b", "2"}, {"a", "1"}}).add();
    registry.counter("pairs_total", {{"a", "3"}, {"b", "4"}}).add();
    const auto text = registry.render();
    CHECK(text.find("pairs_total{a=\"1\",b=\"2\"} 2\n") != std::string::npos);
    CHECK(text.find("pairs_total{a=\"3\",b=\"4\"} 1\n") != std::string::npos);
    const auto first = text.find("# TYPE pairs_total");
    REQUIRE(first != std::string::npos);
    CHECK(text.find("# TYPE pairs_total", first + 1) == std::string::npos);
    CHECK(text.find("# HELP pairs_total", text.find("# HELP pairs_total") + 1) ==
          std::string::npos);
}

TEST_CASE("count histograms use size buckets and an integer sum", "[config]") {
    nexu::metrics::Registry registry;
    auto& h = registry.histogram("batch_records", {}, nexu::metrics::Scale::count);
    h.observe_count(1);
    h.observe_count(3);
    h.observe_count(100000);
    const auto text = registry.render();
    CHECK(text.find("batch_records_bucket{le=\"1\"} 1\n") != std::string::npos);
    CHECK(text.find("batch_records_bucket{le=\"2\"} 1\n") != std::string::npos);
    CHECK(text.find("batch_records_bucket{le=\"4\"} 2\n") != std::string::npos);
    CHECK(text.find("batch_records_bucket{le=\"32768\"} 2\n") != std::string::npos);
    CHECK(text.find("batch_records_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("batch_records_sum 100004\n") != std::string::npos);
    CHECK(text.find("batch_records_count 3\n") != std::string::npos);
}

TEST_CASE("a series of another kind in an existing family is not rendered", "[config]") {
    nexu::metrics::Registry registry;
    registry.counter("mixed", {{"k", "a"}}).add();
    registry.gauge("mixed", {{"k", "b"}}).set(7);
    const auto text = registry.render();
    CHECK(text.find("# TYPE mixed counter\n") != std::string::npos);
    CHECK(text.find("mixed{k=\"a\"} 1\n") != std::string::npos);
    CHECK(text.find("mixed{k=\"b\"}") == std::string::npos);
}

TEST_CASE("process metrics are read at render time", "[config]") {
    nexu::metrics::Registry registry;
    nexu::metrics::add_process_metrics(registry, "1.2.3", "node-\"a\"");
    const auto text = registry.render();
    CHECK(text.find("nexu_build_info{instance=\"node-\\\"a\\\"\",version=\"1.2.3\"} 1\n") !=
          std::string::npos);
    CHECK(registry.gauge("process_resident_memory_bytes").value() > 0);
    CHECK(registry.gauge("process_open_fds").value() >= 3);
    CHECK(text.find("# TYPE process_open_fds gauge\n") != std::string::npos);
}
