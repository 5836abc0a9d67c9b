#include "config/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>

namespace nexu::metrics {

void Histogram::observe(std::chrono::nanoseconds elapsed) noexcept {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    const auto* bound = std::lower_bound(kBoundsSeconds.begin(), kBoundsSeconds.end(), seconds);
    const auto index = static_cast<std::size_t>(bound - kBoundsSeconds.begin());
    buckets_[index].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    const auto ns = elapsed.count() > 0 ? static_cast<std::uint64_t>(elapsed.count()) : 0U;
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

double Histogram::sum_seconds() const noexcept {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

double Histogram::quantile_upper_bound(double q) const noexcept {
    const auto total = count();
    if (total == 0) return 0.0;
    const auto wanted = static_cast<std::uint64_t>(q * static_cast<double>(total));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBoundsSeconds.size(); ++i) {
        seen += bucket(i);
        if (seen >= wanted) return kBoundsSeconds[i];
    }
    return kBoundsSeconds.back();
}

namespace {

std::string series_key(std::string_view family, const Labels& labels) {
    std::string key{family};
    for (const auto& [name, value] : labels) {
        key += '\x1f';
        key += name;
        key += '=';
        key += value;
    }
    return key;
}

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
void append_escaped(std::string& out, std::string_view value) {
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_labels(std::string& out,
                   const Labels& labels,
                   std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) return;
    out += '{';
    bool first = true;
    auto add = [&](std::string_view name, std::string_view value) {
        if (!first) out += ',';
        first = false;
        out += name;
        out += "=\"";
        append_escaped(out, value);
        out += '"';
    };
    for (const auto& [name, value] : labels) add(name, value);
    if (!extra_name.empty()) add(extra_name, extra_value);
    out += '}';
}

// `%g` keeps bucket bounds readable (0.00025, not 0.00025000000000000001).
std::string format_double(double value, bool is_precise = false) {
    char text[40];
    const int n = is_precise ? std::snprintf(text, sizeof text, "%.9g", value)
                             : std::snprintf(text, sizeof text, "%g", value);
    return std::string(text, static_cast<std::size_t>(n));
}

}  // namespace

Registry::Series& Registry::find_or_create(Kind kind,
                                           std::string_view family,
                                           const Labels& labels) {
    auto key = series_key(family, labels);
    {
        std::shared_lock lock{mutex_};
        if (auto it = series_.find(key); it != series_.end()) return *it->second;
    }
    std::unique_lock lock{mutex_};
    auto& slot = series_[key];
    if (!slot) {
        slot = std::make_unique<Series>();
        slot->kind = kind;
        slot->family = std::string{family};
        slot->labels = labels;
    }
    return *slot;
}

Counter& Registry::counter(std::string_view family, const Labels& labels) {
    return find_or_create(Kind::counter, family, labels).counter;
}

Gauge& Registry::gauge(std::string_view family, const Labels& labels) {
    return find_or_create(Kind::gauge, family, labels).gauge;
}

Histogram& Registry::histogram(std::string_view family, const Labels& labels) {
    return find_or_create(Kind::histogram, family, labels).histogram;
}

void Registry::describe(std::string_view family, std::string_view help) {
    std::unique_lock lock{mutex_};
    help_[std::string{family}] = std::string{help};
}

std::string Registry::render() const {
    std::shared_lock lock{mutex_};
    std::map<std::string, std::vector<const Series*>> families;
    for (const auto& [key, series] : series_) families[series->family].push_back(series.get());

    std::string out;
    for (auto& [family, members] : families) {
        std::sort(members.begin(), members.end(),
                  [](const Series* a, const Series* b) { return a->labels < b->labels; });
        if (auto help = help_.find(family); help != help_.end()) {
            out += "# HELP " + family + ' ' + help->second + '\n';
        }
        const auto kind = members.front()->kind;
        out += "# TYPE " + family + ' ';
        out += kind == Kind::counter ? "counter" : kind == Kind::gauge ? "gauge" : "histogram";
        out += '\n';
        for (const Series* series : members) {
            if (kind == Kind::counter || kind == Kind::gauge) {
                out += family;
                append_labels(out, series->labels);
                out += ' ';
                out += kind == Kind::counter ? std::to_string(series->counter.value())
                                             : std::to_string(series->gauge.value());
                out += '\n';
                continue;
            }
            const Histogram& h = series->histogram;
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < Histogram::kBoundsSeconds.size(); ++i) {
                cumulative += h.bucket(i);
                out += family + "_bucket";
                append_labels(out, series->labels, "le",
                              format_double(Histogram::kBoundsSeconds[i]));
                out += ' ' + std::to_string(cumulative) + '\n';
            }
            // +Inf and _count come from the same bucket sum so a scrape racing an
            // observe() still sees them equal, as the format requires.
            cumulative += h.bucket(Histogram::kBoundsSeconds.size());
            out += family + "_bucket";
            append_labels(out, series->labels, "le", "+Inf");
            out += ' ' + std::to_string(cumulative) + '\n';
            out += family + "_sum";
            append_labels(out, series->labels);
            out += ' ' + format_double(h.sum_seconds(), true) + '\n';
            out += family + "_count";
            append_labels(out, series->labels);
            out += ' ' + std::to_string(cumulative) + '\n';
        }
    }
    return out;
}

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace nexu::metrics
