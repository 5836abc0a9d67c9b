// Times Nexu's JSONPath engine over the benchmark documents (one object keyed
// by id, as the query endpoint presents a collection): compile time, and
// evaluation with values only, with values + normalized paths, and streamed
// through a CollectionRoot (what the endpoint will do). One JSON line per
// query with medians in milliseconds (compile in microseconds).
// Usage: nexu_jsonpath_bench DOCS_JSONL QUERIES_JSON RUNS
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/jsonpath/query.hpp"

namespace {

using nexu::domain::jsonpath::CollectionRoot;
using nexu::domain::jsonpath::NormalizedPath;
using nexu::domain::jsonpath::Query;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

template <class F>
double time_ms(F&& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Keeps the optimizer from dropping work whose result is otherwise unused.
volatile bool g_kept = false;
template <class T>
void keep(const T& value) {
    g_kept = value.has_value();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: nexu_jsonpath_bench DOCS_JSONL QUERIES_JSON RUNS\n";
        return 2;
    }
    const int runs = std::max(1, std::stoi(argv[3]));
    json collection = json::object();
    std::vector<std::pair<std::string, json>> members;  // id order, for CollectionRoot
    {
        std::ifstream in{argv[1]};
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            // Moved, not copied: each document keeps the allocations of its own
            // parse, as documents in the server's cache do.
            auto record = json::parse(line);
            collection[record.at("key").get<std::string>()] = std::move(record.at("doc"));
        }
        for (const auto& [id, document] : collection.items()) members.emplace_back(id, document);
    }
    json queries;
    std::ifstream{argv[2]} >> queries;

    CollectionRoot root;
    root.for_each_member = [&members](const CollectionRoot::MemberVisitor& visit) {
        for (const auto& [id, document] : members) {
            if (!visit(id, document)) return;
        }
    };
    root.find_member = [&collection](std::string_view id) -> const json* {
        const auto found = collection.find(id);
        return found == collection.end() ? nullptr : &*found;
    };

    // The floor under any engine over these values: the W3 filter written by
    // hand against nlohmann::json (two std::map lookups per document).
    {
        std::vector<double> floor_ms;
        std::size_t matches = 0;
        for (int run = 0; run < runs + 2; ++run) {
            matches = 0;
            const double ms = time_ms([&] {
                for (const auto& [id, document] : collection.get_ref<const json::object_t&>()) {
                    const auto& fields = document.get_ref<const json::object_t&>();
                    const auto age = fields.find("age");
                    const auto active = fields.find("active");
                    if (age != fields.end() && active != fields.end() && age->second > 90 &&
                        active->second == true) {
                        ++matches;
                    }
                }
            });
            if (run >= 2) floor_ms.push_back(ms);
        }
        const json line{{"engine", "hand-written C++ loop"},
                        {"id", "w3_filter"},
                        {"query", "$[?@.age > 90 && @.active == true]"},
                        {"documents", collection.size()},
                        {"results", matches},
                        {"values_median_ms", median(floor_ms)}};
        std::cout << line.dump() << std::endl;
    }

    for (const auto& entry : queries) {
        const std::string text = entry.at("query").get<std::string>();
        auto query = Query::compile(text);
        if (!query) {
            std::cerr << text << ": " << query.error().context << '\n';
            return 1;
        }
        std::vector<double> compile_us;
        constexpr int kCompiles = 20000;
        for (int batch = 0; batch < 5; ++batch) {
            const double ms = time_ms([&] {
                for (int i = 0; i < kCompiles; ++i) keep(Query::compile(text));
            });
            compile_us.push_back(ms * 1000.0 / kCompiles);
        }

        std::size_t results = 0;
        std::vector<double> values_ms;
        std::vector<double> paths_ms;
        std::vector<double> streamed_ms;
        std::vector<const json*> values;
        std::vector<std::string> paths;
        for (int run = 0; run < runs + 2; ++run) {
            values.clear();
            const double v = time_ms([&] {
                (void)query->evaluate(collection, [&](const json& value, const NormalizedPath&) {
                    values.push_back(&value);
                    return true;
                });
            });
            values = {};
            paths = {};
            const double p = time_ms([&] {
                (void)query->evaluate(collection,
                                      [&](const json& value, const NormalizedPath& path) {
                                          values.push_back(&value);
                                          paths.push_back(path.to_string());
                                          return true;
                                      });
            });
            results = values.size();
            values = {};
            paths = {};
            const double s = time_ms([&] {
                (void)query->evaluate(root, [&](const json& value, const NormalizedPath& path) {
                    values.push_back(&value);
                    paths.push_back(path.to_string());
                    return true;
                });
            });
            if (values.size() != results) {
                std::cerr << text << ": streamed and whole evaluation disagree\n";
                return 1;
            }
            if (run >= 2) {  // two warm-ups, as the npm side gets for its JIT
                values_ms.push_back(v);
                paths_ms.push_back(p);
                streamed_ms.push_back(s);
            }
        }
        const json line{{"engine", "nexu"},
                        {"id", entry.at("id")},
                        {"query", text},
                        {"documents", collection.size()},
                        {"results", results},
                        {"values_median_ms", median(values_ms)},
                        {"values_paths_median_ms", median(paths_ms)},
                        {"streamed_values_paths_median_ms", median(streamed_ms)},
                        {"parse_us", median(compile_us)}};
        std::cout << line.dump() << std::endl;
    }
    return 0;
}
