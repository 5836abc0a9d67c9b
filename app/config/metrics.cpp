#include "config/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <filesystem>
#include <mutex>
#include <optional>

#include <unistd.h>

namespace nexu::metrics {

void Histogram::add(double value, std::uint64_t sum_units) noexcept {
    const auto& limits = bounds();
    const auto* bound = std::lower_bound(limits.begin(), limits.end(), value);
    const auto index = static_cast<std::size_t>(bound - limits.begin());
    buckets_[index].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_units_.fetch_add(sum_units, std::memory_order_relaxed);
}

void Histogram::observe(std::chrono::nanoseconds elapsed) noexcept {
    const auto ns = elapsed.count() > 0 ? static_cast<std::uint64_t>(elapsed.count()) : 0U;
    add(std::chrono::duration<double>(elapsed).count(), ns);
}

void Histogram::observe_count(std::uint64_t n) noexcept { add(static_cast<double>(n), n); }

double Histogram::sum() const noexcept {
    const auto units = static_cast<double>(sum_units_.load(std::memory_order_relaxed));
    return scale_ == Scale::seconds ? units / 1e9 : units;
}

double Histogram::quantile_upper_bound(double q) const noexcept {
    const auto total = count();
    if (total == 0) return 0.0;
    const auto wanted = static_cast<std::uint64_t>(q * static_cast<double>(total));
    const auto& limits = bounds();
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < limits.size(); ++i) {
        seen += bucket(i);
        if (seen >= wanted) return limits[i];
    }
    return limits.back();
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

// HELP text escapes backslash and newline only (exposition format 0.0.4).
void append_help(std::string& out, std::string_view text) {
    for (const char c : text) {
        if (c == '\\') {
            out += "\\\\";
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
                                           Labels labels,
                                           Scale scale) {
    // One series per label set whatever order the caller named the labels in.
    std::sort(labels.begin(), labels.end());
    auto key = series_key(family, labels);
    {
        std::shared_lock lock{mutex_};
        if (auto it = series_.find(key); it != series_.end()) return *it->second;
    }
    std::unique_lock lock{mutex_};
    auto& slot = series_[key];
    if (!slot) slot = std::make_unique<Series>(kind, std::string{family}, std::move(labels), scale);
    return *slot;
}

Counter& Registry::counter(std::string_view family, const Labels& labels) {
    return find_or_create(Kind::counter, family, labels, Scale::seconds).counter;
}

Gauge& Registry::gauge(std::string_view family, const Labels& labels) {
    return find_or_create(Kind::gauge, family, labels, Scale::seconds).gauge;
}

Histogram& Registry::histogram(std::string_view family, const Labels& labels, Scale scale) {
    return find_or_create(Kind::histogram, family, labels, scale).histogram;
}

void Registry::describe(std::string_view family, std::string_view help) {
    std::unique_lock lock{mutex_};
    help_[std::string{family}] = std::string{help};
}

void Registry::on_render(std::function<void(Registry&)> collect) {
    std::unique_lock lock{mutex_};
    collectors_.push_back(std::move(collect));
}

std::string Registry::render() {
    std::vector<std::function<void(Registry&)>> collectors;
    {
        std::shared_lock lock{mutex_};
        collectors = collectors_;
    }
    for (const auto& collect : collectors) collect(*this);

    std::shared_lock lock{mutex_};
    std::map<std::string, std::vector<const Series*>> families;
    for (const auto& [key, series] : series_) families[series->family].push_back(series.get());

    std::string out;
    for (auto& [family, members] : families) {
        std::sort(members.begin(), members.end(),
                  [](const Series* a, const Series* b) { return a->labels < b->labels; });
        // A family has one type: the first series made decides, and a series
        // created later under another kind (a programming error) is left out
        // rather than rendered under the wrong TYPE line.
        const auto kind = members.front()->kind;
        if (auto help = help_.find(family); help != help_.end()) {
            out += "# HELP ";
            out += family;
            out += ' ';
            append_help(out, help->second);
            out += '\n';
        }
        out += "# TYPE ";
        out += family;
        out += kind == Kind::counter ? " counter\n" : kind == Kind::gauge ? " gauge\n" : " histogram\n";
        for (const Series* series : members) {
            if (series->kind != kind) continue;
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
            const auto& limits = h.bounds();
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < limits.size(); ++i) {
                cumulative += h.bucket(i);
                out += family;
                out += "_bucket";
                append_labels(out, series->labels, "le", format_double(limits[i]));
                out += ' ';
                out += std::to_string(cumulative);
                out += '\n';
            }
            // +Inf and _count come from the same bucket sum so a scrape racing an
            // observe() still sees them equal, as the format requires.
            cumulative += h.bucket(limits.size());
            out += family;
            out += "_bucket";
            append_labels(out, series->labels, "le", "+Inf");
            out += ' ';
            out += std::to_string(cumulative);
            out += '\n';
            out += family;
            out += "_sum";
            append_labels(out, series->labels);
            out += ' ';
            out += format_double(h.sum(), true);
            out += '\n';
            out += family;
            out += "_count";
            append_labels(out, series->labels);
            out += ' ';
            out += std::to_string(cumulative);
            out += '\n';
        }
    }
    return out;
}

namespace {

// Resident set size from /proc/self/statm (second field, in pages).
std::optional<std::int64_t> resident_bytes() {
    std::FILE* file = std::fopen("/proc/self/statm", "r");
    if (file == nullptr) return std::nullopt;
    unsigned long long size = 0;
    unsigned long long resident = 0;
    const int read = std::fscanf(file, "%llu %llu", &size, &resident);
    std::fclose(file);
    const long page = ::sysconf(_SC_PAGESIZE);
    if (read != 2 || page <= 0) return std::nullopt;
    return static_cast<std::int64_t>(resident * static_cast<unsigned long long>(page));
}

// Entries of /proc/self/fd, less the one the listing itself holds open.
std::optional<std::int64_t> open_fds() {
    std::error_code ec;
    std::int64_t n = 0;
    for (std::filesystem::directory_iterator it{"/proc/self/fd", ec}, end; !ec && it != end;
         it.increment(ec)) {
        ++n;
    }
    if (ec) return std::nullopt;
    return n > 0 ? n - 1 : 0;
}

}  // namespace

void add_process_metrics(Registry& target, std::string_view version, std::string_view instance) {
    target.describe("nexu_build_info", "Always 1; the labels name the running build.");
    target.gauge("nexu_build_info", {{"version", std::string{version}},
                                     {"instance", std::string{instance}}})
        .set(1);
    target.describe("process_resident_memory_bytes", "Resident memory size in bytes.");
    target.describe("process_open_fds", "Number of open file descriptors.");
    auto& resident = target.gauge("process_resident_memory_bytes");
    auto& fds = target.gauge("process_open_fds");
    // HELP for the families fed from the other layers, and their series made
    // now so that a scrape shows them at zero before the first event.
    target.describe("nexu_task_duration_seconds",
                    "Duration of timed tasks: store_* are storage operations, data_* and "
                    "account_* the services above them.");
    target.describe("nexu_cache_lookups_total",
                    "Cache lookups by cache (documents: decrypted bodies, parsed_documents: "
                    "parsed JSON) and result (hit, miss).");
    for (const char* cache : {"documents", "parsed_documents"}) {
        for (const char* result : {"hit", "miss"}) {
            target.counter("nexu_cache_lookups_total", {{"cache", cache}, {"result", result}});
        }
    }
    target.describe("nexu_store_commit_records",
                    "Records per commit file written (group-commit batch size).");
    target.histogram("nexu_store_commit_records", {}, Scale::count);
    target.describe("nexu_websocket_connections_open", "Open chat WebSocket connections.");
    target.gauge("nexu_websocket_connections_open");
    target.describe("nexu_websocket_frames_total",
                    "WebSocket frames received (in) and written (out).");
    target.counter("nexu_websocket_frames_total", {{"direction", "in"}});
    target.counter("nexu_websocket_frames_total", {{"direction", "out"}});
    target.describe("nexu_chat_messages_total",
                    "Chat messages stored (sent by a client and acknowledged) and delivered "
                    "(live to a subscribed connection).");
    target.counter("nexu_chat_messages_total", {{"event", "stored"}});
    target.counter("nexu_chat_messages_total", {{"event", "delivered"}});
    target.describe("nexu_http_connections_open", "Open HTTP connections.");

    target.on_render([&resident, &fds](Registry&) {
        if (auto bytes = resident_bytes()) resident.set(*bytes);
        if (auto n = open_fds()) fds.set(*n);
    });
}

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace nexu::metrics
