#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nexu::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Lock-free; safe from any thread.
class Counter {
public:
    void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (open connections). Lock-free.
class Gauge {
public:
    void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    void set(std::int64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

// A latency histogram with fixed buckets from 50 µs to 10 s, in the shape
// Prometheus expects (cumulative buckets, sum, count). Lock-free.
class Histogram {
public:
    static constexpr std::array<double, 16> kBoundsSeconds{
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
        0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};

    void observe(std::chrono::nanoseconds elapsed) noexcept;
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    double sum_seconds() const noexcept;
    // Count of observations at or below kBoundsSeconds[i] (not cumulative).
    std::uint64_t bucket(std::size_t i) const noexcept {
        return buckets_[i].load(std::memory_order_relaxed);
    }
    // The smallest bucket bound under which `q` (0..1) of the observations fall.
    double quantile_upper_bound(double q) const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, kBoundsSeconds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_ns_{0};
};

// The process's metric families. Series are created on first use and live
// as long as the registry, so callers may keep the references they get.
// Thread-safe: lookups take a shared lock, creation an exclusive one.
class Registry {
public:
    Counter& counter(std::string_view family, const Labels& labels = {});
    Gauge& gauge(std::string_view family, const Labels& labels = {});
    Histogram& histogram(std::string_view family, const Labels& labels = {});
    void describe(std::string_view family, std::string_view help);

    // The Prometheus text exposition format, version 0.0.4.
    std::string render() const;

private:
    enum class Kind { counter, gauge, histogram };
    struct Series {
        Kind kind;
        std::string family;
        Labels labels;
        Counter counter;
        Gauge gauge;
        Histogram histogram;
    };
    Series& find_or_create(Kind kind, std::string_view family, const Labels& labels);

    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::unique_ptr<Series>> series_;
    std::unordered_map<std::string, std::string> help_;
};

// The one registry of the process; metrics and the logger are the only globals.
Registry& registry();

}  // namespace nexu::metrics
