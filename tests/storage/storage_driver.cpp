// A small program the storage tests start, kill and race: concurrent writers
// through the DocumentRepository, each keeping an fsynced journal of the
// writes the store acknowledged (the oracle), and the checks that compare a
// reopened store against those journals. Not part of the server.
//
//   storage_driver writers  --data D --state S --key K --journal PREFIX --threads N --ids M
//   storage_driver check    --data D --state S --key K --journal PREFIX --threads N
//   storage_driver populate --data D --state S --key K --count N
//   storage_driver counter  --data D --state S --key K --seconds T --out FILE
//   storage_driver race     --data D --state S --key K --trials N --out FILE --start FILE
//   storage_driver get      --data D --state S --key K --collection C --id ID
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "infrastructure/crypto.hpp"
#include "infrastructure/posix_env.hpp"
#include "infrastructure/store.hpp"
#include "repositories/document_repository.hpp"

using namespace nexu;
using namespace nexu::infrastructure;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// "w" + 7 → "w7" without operator+ on a temporary (g++ 12 -O3 -Wrestrict).
std::string numbered(std::string_view prefix, std::uint64_t n) {
    std::string out{prefix};
    out += std::to_string(n);
    return out;
}

std::map<std::string, std::string> parse_options(int argc, char** argv) {
    std::map<std::string, std::string> options;
    for (int i = 2; i + 1 < argc; i += 2) options[std::string{argv[i]}.substr(2)] = argv[i + 1];
    return options;
}

struct Opened {
    std::unique_ptr<Crypto> crypto;
    std::unique_ptr<Store> store;
    double open_ms = 0;
};

Opened open_store(std::map<std::string, std::string>& options) {
    auto crypto = Crypto::from_key_file(options["key"]);
    if (!crypto) {
        std::cerr << "key: " << crypto.error().context << '\n';
        std::exit(3);
    }
    StoreSettings settings;
    settings.cache_bytes = 64 * 1024 * 1024;
    settings.checkpoint_log_records = 4000;
    settings.checkpoint_log_bytes = 8 * 1024 * 1024;
    settings.retention_grace = std::chrono::milliseconds{1000};
    settings.instance_id = numbered("driver", static_cast<std::uint64_t>(::getpid()));
    const auto started = Clock::now();
    auto store = Store::open(default_env(), options["data"], options["state"], **crypto, settings);
    if (!store) {
        std::cerr << "open: " << store.error().context << '\n';
        std::exit(3);
    }
    return Opened{std::move(*crypto), std::move(*store),
                  std::chrono::duration<double, std::milli>(Clock::now() - started).count()};
}

// Appends one line and fdatasyncs it: the journal must survive a kill -9
// right after the store acknowledged.
class Journal {
public:
    explicit Journal(const std::string& path)
        : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) {
        if (fd_ < 0) {
            std::cerr << "journal " << path << " cannot be opened\n";
            std::exit(3);
        }
    }
    ~Journal() { ::close(fd_); }
    void add(const std::string& line) {
        const auto text = line + "\n";
        if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
            ::fdatasync(fd_) != 0) {
            std::cerr << "journal write failed\n";
            std::exit(3);
        }
    }

private:
    int fd_;
};

int run_writers(std::map<std::string, std::string> options) {
    auto opened = open_store(options);
    repositories::DocumentRepository documents{*opened.store};
    const int threads = std::stoi(options["threads"]);
    const int ids = std::stoi(options["ids"]);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            Journal journal{options["journal"] + numbered(".", static_cast<std::uint64_t>(t))};
            for (std::uint64_t i = 0;; ++i) {
                const auto id =
                    numbered("w", static_cast<std::uint64_t>(t)) +
                    numbered("-", static_cast<std::uint64_t>(i % static_cast<std::uint64_t>(ids)));
                auto current = documents.find("kill", id);
                ExpectedRev expected = std::uint64_t{0};
                if (current) expected = (*current)["_rev"].get<std::uint64_t>();
                Json doc{{"writer", t}, {"i", i}, {"pad", std::string(200, 'p')}};
                auto written = documents.replace("kill", id, doc, expected);
                if (!written) {
                    if (written.error().code == Errc::conflict) continue;
                    std::cerr << "write failed: " << written.error().context << '\n';
                    std::this_thread::sleep_for(std::chrono::milliseconds{10});
                    continue;
                }
                journal.add(id + " " + std::to_string((*written)["_rev"].get<std::uint64_t>()) +
                            " " + std::to_string(i));
            }
        });
    }
    for (auto& worker : workers) worker.join();
    return 0;
}

int run_check(std::map<std::string, std::string> options) {
    auto opened = open_store(options);
    repositories::DocumentRepository documents{*opened.store};
    // Ready = open plus the first read of the collection (which loads it).
    const auto started = Clock::now();
    auto count = documents.count("kill");
    (void)documents.count("bulk");
    const double ready_ms =
        opened.open_ms + std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    std::size_t acknowledged = 0;
    std::size_t lost = 0;
    for (int t = 0; t < std::stoi(options["threads"]); ++t) {
        std::ifstream in{options["journal"] + numbered(".", static_cast<std::uint64_t>(t))};
        std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> newest;  // id -> rev, i
        std::string id;
        std::uint64_t rev = 0;
        std::uint64_t i = 0;
        while (in >> id >> rev >> i) {
            ++acknowledged;
            auto& slot = newest[id];
            if (rev >= slot.first) slot = {rev, i};
        }
        for (const auto& [doc_id, expected] : newest) {
            auto doc = documents.find("kill", doc_id);
            // A later write may have landed unjournaled (killed between the
            // ack and the journal line), never an earlier one.
            if (!doc || (*doc)["_rev"].get<std::uint64_t>() < expected.first ||
                ((*doc)["_rev"].get<std::uint64_t>() == expected.first &&
                 (*doc)["i"].get<std::uint64_t>() != expected.second)) {
                ++lost;
                std::cerr << "lost: " << doc_id << " rev " << expected.first << '\n';
            }
        }
    }
    auto report = opened.store->verify();
    const auto damaged = report ? report->damaged.size() : 1;
    if (report) {
        for (const auto& damage : report->damaged) {
            std::cerr << "damaged: " << damage.collection << " " << damage.object << ": "
                      << damage.reason << '\n';
        }
    }
    std::cout << "ready_ms=" << ready_ms << " documents=" << (count ? *count : 0)
              << " acknowledged=" << acknowledged << " lost=" << lost << " damaged=" << damaged
              << " verified=" << (report ? report->documents : 0) << '\n';
    return lost == 0 && damaged == 0 && count ? 0 : 1;
}

int run_populate(std::map<std::string, std::string> options) {
    auto opened = open_store(options);
    const int count = std::stoi(options["count"]);
    std::vector<std::thread> workers;
    for (int t = 0; t < 8; ++t) {
        workers.emplace_back([&, t] {
            for (int i = t; i < count; i += 8) {
                if (!opened.store->put("bulk", numbered("b", static_cast<std::uint64_t>(i)),
                                       std::string(1024, 'b')))
                    std::exit(3);
            }
        });
    }
    for (auto& worker : workers) worker.join();
    return opened.store->checkpoint("bulk") ? 0 : 1;
}

int run_counter(std::map<std::string, std::string> options) {
    auto opened = open_store(options);
    auto& store = *opened.store;
    (void)store.put("counter", "c", "0", std::uint64_t{0});  // one of the racers creates it
    std::ofstream out{options["out"]};
    const auto deadline = Clock::now() + std::chrono::seconds{std::stoi(options["seconds"])};
    std::size_t successes = 0;
    std::size_t conflicts = 0;
    while (Clock::now() < deadline) {
        auto doc = store.get("counter", "c");
        if (!doc) {
            std::cerr << "get failed: " << doc.error().context << '\n';
            return 1;
        }
        const auto value = std::stoull(*doc->body);
        auto written = store.put("counter", "c", std::to_string(value + 1), doc->rev);
        if (written) {
            ++successes;
            out << written->rev << '\n';
        } else if (written.error().code == Errc::conflict) {
            ++conflicts;
        } else {
            std::cerr << "put failed: " << written.error().context << '\n';
            return 1;
        }
    }
    std::cout << "successes=" << successes << " conflicts=" << conflicts << '\n';
    return 0;
}

int run_race(std::map<std::string, std::string> options) {
    auto opened = open_store(options);
    auto& store = *opened.store;
    const auto start = options["start"];
    for (int i = 0; i < 30'000 && ::access(start.c_str(), F_OK) != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    std::ofstream out{options["out"]};
    const int trials = std::stoi(options["trials"]);
    for (int i = 0; i < trials; ++i) {
        const auto id = numbered("r", static_cast<std::uint64_t>(i));
        auto created = store.put("race", id, "x", std::uint64_t{0});
        if (created) {
            out << id << ' ' << created->seq << '\n';
        } else if (created.error().code != Errc::conflict) {
            std::cerr << "create failed: " << created.error().context << '\n';
            return 1;
        }
    }
    return 0;
}

// One unconditional write of --value to faults/a, its outcome in --result;
// with --expect-after, checks what a previous (fault-injected) step left.
int run_step(std::map<std::string, std::string> options) {
    if (options.count("expect-after") == 0) {
        std::ofstream result{options["result"]};
        auto crypto = Crypto::from_key_file(options["key"]);
        if (!crypto) return 3;
        StoreSettings settings;
        settings.run_maintenance = false;
        auto store =
            Store::open(default_env(), options["data"], options["state"], **crypto, settings);
        if (!store) {
            result << "open-failed\n";
            return 0;
        }
        auto written = (*store)->put("faults", "a", options["value"]);
        result << (written ? "acked " + options["value"] : std::string{"failed"}) << std::endl;
        return 0;
    }
    auto opened = open_store(options);
    auto& store = *opened.store;
    std::ifstream previous{options["expect-after"]};
    std::string outcome;
    std::getline(previous, outcome);
    auto doc = store.get("faults", "a");
    std::string problem;
    if (!doc) {
        problem = "previous revision unreadable: " + doc.error().context;
    } else if (outcome == "acked v2" && *doc->body != "v2") {
        problem = "acknowledged v2 lost";
    } else if (*doc->body != "v1" && *doc->body != "v2") {
        problem = "unexpected body " + *doc->body;
    }
    auto report = store.verify();
    if (problem.empty() && (!report || !report->damaged.empty())) problem = "verify found damage";
    if (problem.empty()) {
        auto written = store.put("faults", "a", options["value"]);
        if (!written) problem = "the next write failed: " + written.error().context;
    }
    std::cout << (problem.empty() ? "ok" : problem) << '\n';
    return 0;
}

// On a small tmpfs: fill it, check writes fail as unavailable with the old
// revision intact, free the space, check writes work again.
int run_enospc(std::map<std::string, std::string> options) {
    auto opened = open_store(options);
    auto& store = *opened.store;
    if (!store.put("faults", "a", "v1")) return 1;
    {
        std::ofstream filler{options["fill"], std::ios::binary};
        const std::string block(4096, 'z');
        const auto block_size = static_cast<std::streamsize>(block.size());
        for (int i = 0; i < 1024 && filler.write(block.data(), block_size); ++i) {
        }
    }
    auto failed = store.put("faults", "a", std::string(20'000, 'x'));
    if (failed || failed.error().code != Errc::unavailable) {
        std::cerr << "expected unavailable when the disk is full\n";
        return 1;
    }
    auto old = store.get("faults", "a");
    if (!old || *old->body != "v1") {
        std::cerr << "previous revision lost\n";
        return 1;
    }
    std::filesystem::remove(options["fill"]);
    auto again = store.put("faults", "a", "v2", old->rev);
    if (!again) {
        std::cerr << "write after freeing space failed: " << again.error().context << '\n';
        return 1;
    }
    auto report = store.verify();
    if (!report || !report->damaged.empty()) return 1;
    std::cout << "enospc: failed as unavailable, old revision intact, next write rev " << again->rev
              << '\n';
    return 0;
}

int run_get(std::map<std::string, std::string> options) {
    auto opened = open_store(options);
    auto doc = opened.store->get(options["collection"], options["id"]);
    if (!doc) {
        std::cerr << "get: " << doc.error().context << '\n';
        return 1;
    }
    std::cout << *doc->body << ' ' << doc->rev << '\n';
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: storage_driver MODE --option value...\n";
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);  // stdout carries the results
    const std::string mode = argv[1];
    auto options = parse_options(argc, argv);
    if (mode == "writers") return run_writers(options);
    if (mode == "check") return run_check(options);
    if (mode == "populate") return run_populate(options);
    if (mode == "counter") return run_counter(options);
    if (mode == "race") return run_race(options);
    if (mode == "get") return run_get(options);
    if (mode == "step") return run_step(options);
    if (mode == "enospc") return run_enospc(options);
    std::cerr << "unknown mode " << mode << '\n';
    return 2;
}
