// Storage benchmarks, side by side in one run; prints a Markdown report
// (BENCHMARKS.md). Usage: storage_bench DIR [--quick]
// DIR must be on the disk being measured (not tmpfs). Durable writes of 1 KiB
// documents against SQLite (WAL, synchronous=FULL, one transaction per write)
// and against the original design (re-encrypt and rewrite the whole
// collection file per write), write cost from 1,000 to 1,000,000 documents,
// cached reads, a cold scan, startup from a checkpoint and memory while
// scanning a collection 4x the cache budget.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "infrastructure/crypto.hpp"
#include "infrastructure/master_key.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/store.hpp"
#include "repositories/document_repository.hpp"

using namespace nexu;
using namespace nexu::infrastructure;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string document_body(std::uint64_t n) {
    // A realistic ~1 KiB JSON object: strings, numbers, a small array.
    nlohmann::json doc{{"title", "Document number " + std::to_string(n)},
                       {"owner", "user-" + std::to_string(n % 977)},
                       {"count", n},
                       {"price", static_cast<double>(n % 1000) / 7.0},
                       {"tags", {"alpha", "beta", "gamma"}},
                       {"active", n % 2 == 0}};
    std::string text = doc.dump();
    doc["notes"] = std::string(1024 - text.size() - 12, 'n');
    return doc.dump();
}

std::string key_of(std::uint64_t n) {
    std::string id = "doc";
    id += std::to_string(n);
    return id;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

long rss_kib() {
    std::ifstream in{"/proc/self/status"};
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0;
}

StoreSettings bench_settings(std::size_t cache_bytes = 256u << 20) {
    StoreSettings settings;
    settings.cache_bytes = cache_bytes;
    settings.checkpoint_log_records = 2'000'000;  // checkpoints are measured separately
    settings.checkpoint_log_bytes = std::uint64_t{8} << 30;
    settings.instance_id = "bench";
    return settings;
}

// `writers` threads put random ids in [0, universe) for `duration`; writes/s.
double store_writes(Store& store,
                    const std::string& collection,
                    int writers,
                    std::uint64_t universe,
                    std::chrono::milliseconds duration) {
    std::atomic<std::uint64_t> done{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    const auto body = document_body(1);
    const auto start = Clock::now();
    for (int t = 0; t < writers; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
            while (!stop.load()) {
                if (!store.put(collection, key_of(rng() % universe), body)) std::abort();
                done.fetch_add(1);
            }
        });
    }
    std::this_thread::sleep_for(duration);
    stop = true;
    for (auto& thread : threads) thread.join();
    return static_cast<double>(done.load()) / seconds_since(start);
}

void populate(Store& store, const std::string& collection, std::uint64_t from, std::uint64_t to) {
    std::vector<std::thread> threads;
    std::atomic<std::uint64_t> next{from};
    for (int t = 0; t < 64; ++t) {
        threads.emplace_back([&] {
            for (auto n = next.fetch_add(1); n < to; n = next.fetch_add(1)) {
                if (!store.put(collection, key_of(n), document_body(n))) std::abort();
            }
        });
    }
    for (auto& thread : threads) thread.join();
}

double sqlite_writes(const fs::path& file,
                     int writers,
                     std::uint64_t universe,
                     std::chrono::milliseconds duration) {
    auto open = [&] {
        sqlite3* db = nullptr;
        if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) std::abort();
        sqlite3_busy_timeout(db, 60'000);
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr,
                     nullptr);
        return db;
    };
    {
        sqlite3* db = open();
        sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, body BLOB)",
                     nullptr, nullptr, nullptr);
        sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
        sqlite3_stmt* insert = nullptr;
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO docs VALUES (?, ?)", -1, &insert, nullptr);
        for (std::uint64_t n = 0; n < universe; ++n) {
            const auto id = key_of(n);
            const auto body = document_body(n);
            sqlite3_bind_text(insert, 1, id.c_str(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
            sqlite3_bind_blob(insert, 2, body.data(), static_cast<int>(body.size()),
                              SQLITE_TRANSIENT);
            sqlite3_step(insert);
            sqlite3_reset(insert);
        }
        sqlite3_finalize(insert);
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        sqlite3_close(db);
    }
    std::atomic<std::uint64_t> done{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    const auto body = document_body(1);
    const auto start = Clock::now();
    for (int t = 0; t < writers; ++t) {
        threads.emplace_back([&, t] {
            sqlite3* db = open();
            sqlite3_stmt* insert = nullptr;
            sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO docs VALUES (?, ?)", -1, &insert,
                               nullptr);
            std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
            while (!stop.load()) {
                const auto id = key_of(rng() % universe);
                sqlite3_bind_text(insert, 1, id.c_str(), static_cast<int>(id.size()),
                                  SQLITE_TRANSIENT);
                sqlite3_bind_blob(insert, 2, body.data(), static_cast<int>(body.size()),
                                  SQLITE_TRANSIENT);
                // Autocommit: one durable transaction per write.
                if (sqlite3_step(insert) != SQLITE_DONE) std::abort();
                sqlite3_reset(insert);
                done.fetch_add(1);
            }
            sqlite3_finalize(insert);
            sqlite3_close(db);
        });
    }
    std::this_thread::sleep_for(duration);
    stop = true;
    for (auto& thread : threads) thread.join();
    return static_cast<double>(done.load()) / seconds_since(start);
}

// The original design: one JSON file per collection, re-encrypted and
// rewritten (temp, fsync, rename, fsync dir) on every write.
double original_design_writes(const fs::path& dir,
                              const Crypto& crypto,
                              std::uint64_t universe,
                              int writes) {
    nlohmann::json collection = nlohmann::json::object();
    for (std::uint64_t n = 0; n < universe; ++n)
        collection[key_of(n)] = nlohmann::json::parse(document_body(n));
    auto& env = default_env();
    fs::create_directories(dir);
    const auto start = Clock::now();
    for (int i = 0; i < writes; ++i) {
        collection[key_of(static_cast<std::uint64_t>(i) % universe)]["count"] = i;
        const auto plain = collection.dump();
        auto sealed = crypto.seal(KeyPurpose::documents, 1, plain, "collection").value();
        if (!replace_file(env, dir, "collection.json.enc", sealed, "orig")) std::abort();
    }
    return writes / seconds_since(start);
}

struct Row {
    std::string what;
    std::string value;
    std::string note;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: storage_bench DIR [--quick]\n";
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);
    if (argc == 5 && std::string{argv[1]} == "--memory-child") {
        // Opens a store with a 25 MiB cache and scans it; prints RSS figures.
        auto key = Crypto::from_key_file(argv[4]).value();
        const auto baseline = rss_kib();
        auto store =
            Store::open(default_env(), argv[2], argv[3], *key, bench_settings(25u << 20)).value();
        (void)store->count("reads");
        const auto with_index = rss_kib();
        long peak = with_index;
        std::size_t n = 0;
        if (!store->scan("reads", "", [&](std::string_view, const StoredDocument&) {
                if (++n % 1000 == 0) peak = std::max(peak, rss_kib());
                return true;
            })) {
            return 1;
        }
        std::printf("%ld %ld %ld %zu\n", baseline, with_index, peak, store->cache_used_bytes());
        return 0;
    }
    const bool quick = argc > 2 && std::string{argv[2]} == "--quick";
    const fs::path root = fs::path{argv[1]} / ("run-" + std::to_string(::getpid()));
    fs::create_directories(root);
    if (!create_master_key(root / "master.key")) std::abort();
    auto crypto = Crypto::from_key_file(root / "master.key").value();
    std::vector<Row> rows;
    auto add = [&](std::string what, double value, std::string unit, std::string note = {}) {
        std::ostringstream text;
        text.setf(std::ios::fixed);
        text.precision(value < 10 ? 2 : 0);
        text << value << ' ' << unit;
        rows.push_back(Row{std::move(what), text.str(), std::move(note)});
        std::cerr << rows.back().what << ": " << rows.back().value << ' ' << rows.back().note
                  << '\n';
    };
    const auto window = std::chrono::milliseconds{quick ? 1500 : 4000};

    // 1. Durable writes at 10,000 documents: the store, SQLite, the original design.
    double store_64 = 0;
    double sqlite_64 = 0;
    double store_1 = 0;
    {
        auto store =
            Store::open(default_env(), root / "w", root / "w-state", *crypto, bench_settings())
                .value();
        populate(*store, "bench", 0, 10'000);
        for (const int writers : {1, 16, 64}) {
            const auto rate = store_writes(*store, "bench", writers, 10'000, window);
            if (writers == 1) store_1 = rate;
            if (writers == 64) store_64 = rate;
            add("Nexu store, durable 1 KiB writes, " + std::to_string(writers) +
                    " writers (10k docs)",
                rate, "writes/s");
        }
    }
    for (const int writers : {1, 16, 64}) {
        const auto rate = sqlite_writes(root / ("sqlite-" + std::to_string(writers) + ".db"),
                                        writers, 10'000, window);
        if (writers == 64) sqlite_64 = rate;
        add("SQLite WAL synchronous=FULL, 1 txn/write, " + std::to_string(writers) +
                " writers (10k rows)",
            rate, "writes/s");
    }
    const auto original =
        original_design_writes(root / "original", *crypto, 10'000, quick ? 5 : 20);
    add("original design (rewrite whole encrypted collection), 1 writer, 10k docs", original,
        "writes/s");
    add("ratio: store 64 writers / SQLite 64 writers", store_64 / sqlite_64, "x", "target >= 3x");
    add("ratio: store 1 writer / original design", store_1 / original, "x", "target >= 1000x");
    add("ratio: store 64 writers / original design", store_64 / original, "x");

    // 2. Write cost against collection size (16 writers).
    {
        auto store =
            Store::open(default_env(), root / "s", root / "s-state", *crypto, bench_settings())
                .value();
        std::uint64_t size = 0;
        std::vector<std::uint64_t> sizes{1'000, 10'000, 100'000};
        if (!quick) sizes.push_back(1'000'000);
        double first = 0;
        for (const auto target : sizes) {
            const auto started = Clock::now();
            populate(*store, "size", size, target);
            if (!store->checkpoint("size")) std::abort();
            // Let the kernel write back what populating left dirty, so each
            // size is measured on a quiet disk rather than behind a flush.
            ::sync();
            std::this_thread::sleep_for(std::chrono::seconds{quick ? 1 : 5});
            size = target;
            std::cerr << "populated " << size << " in " << seconds_since(started) << " s\n";
            const auto rate = store_writes(*store, "size", 16, size, window);
            if (first == 0) first = rate;
            add("write cost at " + std::to_string(size) + " docs, 16 writers", rate, "writes/s",
                "relative to 1,000 docs: " + std::to_string(rate / first).substr(0, 4));
        }
        if (!quick) {
            // 3. Startup with 1,000,000 documents from a checkpoint.
            if (!store->checkpoint("size")) std::abort();
            store.reset();
            const auto started = Clock::now();
            auto reopened =
                Store::open(default_env(), root / "s", root / "s-state", *crypto, bench_settings())
                    .value();
            const auto count = reopened->count("size").value();
            add("startup to first read, " + std::to_string(count) + " docs (checkpoint)",
                seconds_since(started), "s", "target < 10 s");
        }
    }

    // 4. Cached reads by id, cold scan, memory while scanning 4x the budget.
    {
        const std::uint64_t docs = 100'000;
        {
            auto store =
                Store::open(default_env(), root / "r", root / "r-state", *crypto, bench_settings())
                    .value();
            populate(*store, "reads", 0, docs);
            if (!store->checkpoint("reads")) std::abort();
        }
        {
            // Read + decrypt only (no JSON parse), in a fresh instance: nothing cached.
            auto cold =
                Store::open(default_env(), root / "r", root / "r-state", *crypto, bench_settings())
                    .value();
            (void)cold->count("reads");
            std::size_t bytes = 0;
            const auto started = Clock::now();
            if (!cold->scan("reads", "", [&](std::string_view, const StoredDocument& doc) {
                    bytes += doc.body->size();
                    return true;
                })) {
                std::abort();
            }
            add("cold scan, read + decrypt only, 100,000 1 KiB docs, 1 thread",
                seconds_since(started), "s");
            if (bytes == 0) std::abort();
        }
        auto store =
            Store::open(default_env(), root / "r", root / "r-state", *crypto, bench_settings())
                .value();
        repositories::DocumentRepository documents{*store};
        (void)documents.count("reads");
        std::size_t seen = 0;
        auto started = Clock::now();
        if (!documents.scan("reads", "", [&](const std::string&, const nlohmann::json& doc) {
                seen += doc.size();
                return true;
            })) {
            std::abort();
        }
        add("cold scan (read, decrypt, parse) of 100,000 1 KiB docs, 1 thread",
            seconds_since(started), "s", "target < 1 s");

        // Warm: 10,000 hot ids, one thread.
        for (std::uint64_t n = 0; n < 10'000; ++n) (void)store->get("reads", key_of(n));
        const std::uint64_t reads = quick ? 1'000'000 : 3'000'000;
        std::vector<std::string> ids;
        for (std::uint64_t n = 0; n < 10'000; ++n) ids.push_back(key_of(n));
        started = Clock::now();
        std::size_t bytes = 0;
        for (std::uint64_t i = 0; i < reads; ++i)
            bytes += store->get("reads", ids[i % ids.size()])->body->size();
        add("reads by id from the cache, 1 thread (store.get, timed)",
            static_cast<double>(reads) / seconds_since(started), "reads/s",
            "target >= 1,000,000/s");
        if (bytes == 0 || seen == 0) std::abort();
    }
    {
        // In a fresh process (exec), so the RSS is not inflated by what the
        // earlier stages allocated and freed.
        // popen runs a shell, for which /proc/self/exe is the shell: resolve it here.
        const auto command = fs::read_symlink("/proc/self/exe").string() + " --memory-child " +
                             (root / "r").string() + " " + (root / "m-state").string() + " " +
                             (root / "master.key").string();
        FILE* child = ::popen(command.c_str(), "r");
        long baseline = 0, with_index = 0, peak = 0, cache = 0;
        if (child == nullptr ||
            std::fscanf(child, "%ld %ld %ld %ld", &baseline, &with_index, &peak, &cache) != 4) {
            std::abort();
        }
        ::pclose(child);
        add("RSS growth while scanning 100,000 docs (~100 MiB) with a 25 MiB cache budget",
            static_cast<double>(peak - with_index) / 1024.0, "MiB",
            "fresh process: " + std::to_string(baseline / 1024) + " MiB before open, " +
                std::to_string(with_index / 1024) + " MiB with the index loaded, peak " +
                std::to_string(peak / 1024) + " MiB; cache used " + std::to_string(cache >> 20) +
                " MiB");
    }

    std::ostringstream out;
    out << "| measurement | result | note |\n|---|---|---|\n";
    for (const auto& row : rows)
        out << "| " << row.what << " | " << row.value << " | " << row.note << " |\n";
    std::cout << out.str();
    fs::remove_all(root);
    return 0;
}
