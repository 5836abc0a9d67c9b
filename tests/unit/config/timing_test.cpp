#include "config/timing.hpp"

#include <catch2/catch.hpp>

#include "config/metrics.hpp"

TEST_CASE("timed returns the callable's result and feeds the task histogram", "[config]") {
    auto& histogram = nexu::metrics::registry().histogram("nexu_task_duration_seconds",
                                                          {{"task", "timing_test_task"}});
    const auto before = histogram.count();
    const int value = nexu::config::timed("timing_test_task", [] { return 42; });
    CHECK(value == 42);
    CHECK(histogram.count() == before + 1);
}

TEST_CASE("timed records a task that throws", "[config]") {
    auto& histogram = nexu::metrics::registry().histogram("nexu_task_duration_seconds",
                                                          {{"task", "timing_test_throws"}});
    CHECK_THROWS(nexu::config::timed("timing_test_throws", []() -> int { throw 1; }));
    CHECK(histogram.count() == 1);
}

TEST_CASE("timed works with callables returning nothing", "[config]") {
    bool ran = false;
    nexu::config::timed("timing_test_void", [&] { ran = true; });
    CHECK(ran);
}
