#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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

// What a histogram measures, which fixes its bucket bounds.
enum class Scale {
    seconds,  // latencies: 50 µs .. 10 s
    count,    // sizes such as records per group commit: 1 .. 32768, powers of two
};

// A histogram with 16 fixed buckets, in the shape Prometheus expects
// (cumulative buckets, sum, count). Lock-free.
class Histogram {
public:
    static constexpr std::array<double, 16> kBoundsSeconds{
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
        0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};
    static constexpr std::array<double, 16> kBoundsCount{
        1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768};

    explicit Histogram(Scale scale = Scale::seconds) noexcept : scale_(scale) {}

    // A duration (Scale::seconds).
    void observe(std::chrono::nanoseconds elapsed) noexcept;
    // A size (Scale::count).
    void observe_count(std::uint64_t n) noexcept;

    Scale scale() const noexcept { return scale_; }
    const std::array<double, 16>& bounds() const noexcept {
        return scale_ == Scale::seconds ? kBoundsSeconds : kBoundsCount;
    }
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    // In seconds for Scale::seconds, in units for Scale::count.
    double sum() const noexcept;
    double sum_seconds() const noexcept { return sum(); }
    // Count of observations at or below bounds()[i] (not cumulative).
    std::uint64_t bucket(std::size_t i) const noexcept {
        return buckets_[i].load(std::memory_order_relaxed);
    }
    // The smallest bucket bound under which `q` (0..1) of the observations fall.
    double quantile_upper_bound(double q) const noexcept;

private:
    void add(double value, std::uint64_t sum_units) noexcept;

    Scale scale_;
    std::array<std::atomic<std::uint64_t>, kBoundsSeconds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_units_{0};  // nanoseconds, or units
};

// The process's metric families. Series are created on first use and live
// as long as the registry, so callers may keep the references they get.
// Thread-safe: lookups take a shared lock, creation an exclusive one.
class Registry {
public:
    Counter& counter(std::string_view family, const Labels& labels = {});
    Gauge& gauge(std::string_view family, const Labels& labels = {});
    Histogram& histogram(std::string_view family,
                         const Labels& labels = {},
                         Scale scale = Scale::seconds);
    void describe(std::string_view family, std::string_view help);
    // Runs `collect` at the start of every render(), for values read at scrape
    // time (resident memory, open files). It must not call render().
    void on_render(std::function<void(Registry&)> collect);

    // The Prometheus text exposition format, version 0.0.4.
    // HELP and TYPE once per family; label values and HELP text escaped.
    std::string render();

private:
    enum class Kind { counter, gauge, histogram };
    struct Series {
        Series(Kind k, std::string f, Labels l, Scale scale)
            : kind(k), family(std::move(f)), labels(std::move(l)), histogram(scale) {}
        Kind kind;
        std::string family;
        Labels labels;  // sorted by name
        Counter counter;
        Gauge gauge;
        Histogram histogram;
    };
    Series& find_or_create(Kind kind, std::string_view family, Labels labels, Scale scale);

    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::unique_ptr<Series>> series_;
    std::unordered_map<std::string, std::string> help_;
    std::vector<std::function<void(Registry&)>> collectors_;
};

// Registers the scrape-time process metrics on `registry`:
// process_resident_memory_bytes and process_open_fds (from /proc/self), and
// nexu_build_info{version,instance} 1.
void add_process_metrics(Registry& registry, std::string_view version, std::string_view instance);

// The one registry of the process; metrics and the logger are the only globals.
Registry& registry();

}  // namespace nexu::metrics
