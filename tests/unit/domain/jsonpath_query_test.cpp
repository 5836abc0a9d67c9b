#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "domain/jsonpath/query.hpp"

using nexu::Errc;
using nexu::domain::jsonpath::CollectionRoot;
using nexu::domain::jsonpath::EvaluationBudget;
using nexu::domain::jsonpath::NormalizedPath;
using nexu::domain::jsonpath::Query;
using nlohmann::json;

namespace {

EvaluationBudget budget_of(std::uint64_t nodes, std::uint64_t results, std::size_t depth) {
    EvaluationBudget budget;
    budget.max_nodes_visited = nodes;
    budget.max_results = results;
    budget.max_document_depth = depth;
    return budget;
}

struct Output {
    json values = json::array();
    std::vector<std::string> paths;
};

Output run(std::string_view text, const json& document) {
    auto query = Query::compile(text);
    REQUIRE(query);
    auto matches = query->select(document);
    REQUIRE(matches);
    Output out;
    for (const auto& match : *matches) {
        out.values.push_back(*match.value);
        out.paths.push_back(match.path);
    }
    return out;
}

// A collection of documents in id order, counting what the evaluator reads.
class FakeCollection {
public:
    explicit FakeCollection(json documents) : documents_(std::move(documents)) {}

    CollectionRoot root(bool with_materialize = true) {
        CollectionRoot root;
        root.for_each_member = [this](const CollectionRoot::MemberVisitor& visit) {
            ++passes;
            for (const auto& [id, document] : documents_.items()) {
                ++documents_read;
                if (!visit(id, document)) return;
            }
        };
        root.find_member = [this](std::string_view id) -> const json* {
            ++lookups;
            const auto found = documents_.find(std::string{id});
            return found == documents_.end() ? nullptr : &*found;
        };
        if (with_materialize) {
            root.materialize = [this]() -> const json* {
                ++materializations;
                return &documents_;
            };
        }
        return root;
    }

    Output run(std::string_view text, std::size_t limit = SIZE_MAX) {
        auto query = Query::compile(text);
        REQUIRE(query);
        Output out;
        auto outcome = query->evaluate(root(), [&](const json& value, const NormalizedPath& path) {
            out.values.push_back(value);
            out.paths.push_back(path.to_string());
            return out.paths.size() < limit;
        });
        REQUIRE(outcome);
        return out;
    }

    int passes = 0;
    int documents_read = 0;
    int lookups = 0;
    int materializations = 0;

private:
    json documents_;
};

const json kCollection = json::parse(R"({
    "a1": {"name": "Ann", "age": 95, "active": true, "email": "ann@x"},
    "b2": {"name": "Bob", "age": 40, "active": true, "email": "bob@x"},
    "c3": {"name": "Cid", "age": 99, "active": false, "tags": ["x", "y"]},
    "email": {"note": "a document whose id is email"}
})");

}  // namespace

TEST_CASE("a collection root answers as the object of its members would", "[jsonpath]") {
    for (const auto* text :
         {"$[?@.age > 90]", "$.*.email", "$..email", "$['b2']", "$.b2.name", "$[0]", "$[1:3]",
          "$[*]", "$['c3', 'a1']", "$[*, ?@.active == true]", "$..[0]", "$..*",
          "$[?@.age > $.a1.age]", "$[?count($.*) == 4]", "$.missing", "$", "$[?@ == $.b2]",
          "$[?value($..age) == 1]", "$..['name', 'age']"}) {
        INFO(text);
        FakeCollection collection{kCollection};
        const auto streamed = collection.run(text);
        const auto whole = run(text, kCollection);
        CHECK(streamed.values == whole.values);
        CHECK(streamed.paths == whole.paths);
    }
}

TEST_CASE("a collection root reads only what the query needs", "[jsonpath]") {
    FakeCollection by_id{kCollection};
    CHECK(by_id.run("$['b2'].name").values == json::array({"Bob"}));
    CHECK(by_id.documents_read == 0);
    CHECK(by_id.lookups == 1);

    FakeCollection indexed{kCollection};
    CHECK(indexed.run("$[0]").values.empty());  // an index selects nothing from an object
    CHECK(indexed.documents_read == 0);

    FakeCollection filtered{kCollection};
    CHECK(filtered.run("$[?@.age > 90]").paths == std::vector<std::string>{"$['a1']", "$['c3']"});
    CHECK(filtered.passes == 1);
    CHECK(filtered.materializations == 0);
}

TEST_CASE("a sink that returns false stops the walk early", "[jsonpath]") {
    FakeCollection collection{kCollection};
    const auto out = collection.run("$[?@.active == true]", 1);
    CHECK(out.paths == std::vector<std::string>{"$['a1']"});
    CHECK(collection.documents_read == 1);
}

TEST_CASE("the whole root is materialised only when used as a value", "[jsonpath]") {
    FakeCollection collection{kCollection};
    CHECK(collection.run("$").values == json::array({kCollection}));
    CHECK(collection.materializations == 1);

    auto query = Query::compile("$[?@ == $]");
    REQUIRE(query);
    FakeCollection without{kCollection};
    auto outcome = query->evaluate(without.root(false),
                                   [](const json&, const NormalizedPath&) { return true; });
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().code == Errc::invalid_argument);
}

TEST_CASE("descendant results come in document order with duplicates kept", "[jsonpath]") {
    const auto document = json::parse(R"({"a": {"a": 1}, "b": [{"a": 2}]})");
    const auto out = run("$..a", document);
    CHECK(out.values == json::parse(R"([{"a": 1}, 1, 2])"));
    CHECK(out.paths == std::vector<std::string>{"$['a']", "$['a']['a']", "$['b'][0]['a']"});
    CHECK(run("$[0, 0, -1]", json::parse("[7, 8]")).values == json::array({7, 7, 8}));
    CHECK(run("$[::-1]", json::parse("[1, 2, 3]")).paths ==
          std::vector<std::string>{"$[2]", "$[1]", "$[0]"});
}

TEST_CASE("the functions follow RFC 9535 section 2.4", "[jsonpath]") {
    const auto doc = json::parse(
        R"([{"s": "é☺x", "a": [1, 2], "o": {"k": 1}, "n": 5, "p": "^[a-z]+$", "t": "abc"}])");
    CHECK(run("$[?length(@.s) == 3]", doc).values.size() == 1);  // characters, not bytes
    CHECK(run("$[?length(@.a) == 2 && length(@.o) == 1]", doc).values.size() == 1);
    CHECK(run("$[?length(@.n) == 1]", doc).values.empty());  // a number has no length
    CHECK(run("$[?length(@.missing) == null]", doc).values.empty());
    CHECK(run("$[?count(@.*) == 6]", doc).values.size() == 1);
    CHECK(run("$[?count(@..*) == 9]", doc).values.size() == 1);
    CHECK(run("$[?value(@.a[0]) == 1]", doc).values.size() == 1);
    CHECK(run("$[?value(@.a[*]) == 1]", doc).values.empty());  // two nodes: Nothing
    CHECK(run("$[?match(@.t, @.p)]", doc).values.size() == 1);
    CHECK(run("$[?match(@.t, 'ab')]", doc).values.empty());
    CHECK(run("$[?search(@.t, 'b')]", doc).values.size() == 1);
    CHECK(run("$[?search(@.t, '\\\\d')]", doc).values.empty());  // not an I-Regexp: false
    CHECK(run("$[?!search(@.t, '\\\\d')]", doc).values.size() == 1);
    CHECK(run("$[?match(@.n, 'x')]", doc).values.empty());
}

TEST_CASE("the budget stops exponential queries instead of exhausting memory", "[jsonpath]") {
    json deep = json::array();
    for (int i = 0; i < 14; ++i) deep = json::array({deep, deep});  // 32767 nodes, depth 15
    auto query = Query::compile("$..*..*..*..*");
    REQUIRE(query);
    std::uint64_t results = 0;
    auto outcome = query->evaluate(
        deep,
        [&results](const json&, const NormalizedPath&) {
            ++results;
            return true;
        },
        budget_of(1'000'000, 1'000'000, 256));
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().code == Errc::limit_exceeded);
    CHECK(results < 1'000'000);

    auto many = Query::compile("$..*");
    auto too_many = many->evaluate(
        json::parse("[1, 2, 3, 4]"), [](const json&, const NormalizedPath&) { return true; },
        budget_of(1'000'000, 3, 256));
    REQUIRE_FALSE(too_many);
    CHECK(too_many.error().code == Errc::limit_exceeded);
}

TEST_CASE("documents deeper than the budget allows are refused, not recursed into", "[jsonpath]") {
    json deep = 1;
    for (int i = 0; i < 100; ++i) deep = json::array({deep});
    auto query = Query::compile("$..*");
    auto outcome = query->evaluate(
        deep, [](const json&, const NormalizedPath&) { return true; },
        budget_of(1'000'000, 1'000'000, 50));
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().code == Errc::limit_exceeded);
}

TEST_CASE("one query evaluates on several threads at once", "[jsonpath]") {
    auto query = Query::compile("$[?match(@.v, @.p)]");
    REQUIRE(query);
    json documents = json::array();
    for (int i = 0; i < 200; ++i) {
        std::string value = "a";
        value += std::to_string(i % 7);  // not "a" + ...: g++ 12 reports a false -Wrestrict
        documents.push_back({{"v", value}, {"p", "a[0-3]"}});
    }
    std::vector<std::size_t> counts(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < counts.size(); ++t) {
        threads.emplace_back([&, t] { counts[t] = query->select(documents)->size(); });
    }
    for (auto& thread : threads) thread.join();
    for (const auto count : counts) CHECK(count == 116);  // i % 7 in 0..3
}
