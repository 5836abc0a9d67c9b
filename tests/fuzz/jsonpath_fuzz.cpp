// libFuzzer target: JSONPath compile + evaluate on arbitrary input.
// Input: QUERY, optionally followed by a NUL byte and a JSON document (the
// seeds from the compliance suite have this shape); without a document, a
// fixed one is used. Besides crashes, leaks and sanitizer reports, it checks
// one property: over an object, streaming the members through a
// CollectionRoot gives exactly what evaluating the whole value gives.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/json_body.hpp"
#include "domain/jsonpath/query.hpp"

namespace {

using nlohmann::json;
using namespace nexu::domain::jsonpath;

const json& default_document() {
    static const json document = json::parse(R"({
        "a": [1, 2.5, "x", null, true, {"b": [[], {}]}], "é": {"c": "αβγ", "d": -0},
        "e": [{"k": 1, "v": "ab"}, {"k": 2, "v": "ba"}, {"k": "2", "p": "a.*"}]
    })");
    return document;
}

struct Collected {
    std::vector<const json*> values;
    std::vector<std::string> paths;
    bool operator==(const Collected&) const = default;
};

// Small enough that no input can time the fuzzer out, large enough to reach
// every path of the evaluator.
constexpr EvaluationBudget kBudget{200'000, 20'000, 64};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input{reinterpret_cast<const char*>(data), size};
    const auto separator = input.find('\0');
    const std::string_view text = input.substr(0, separator);
    auto query = Query::compile(text);
    if (!query) return 0;

    json parsed;
    const json* document = &default_document();
    if (separator != std::string_view::npos) {
        auto value = nexu::domain::parse_json(input.substr(separator + 1));
        if (!value) return 0;
        parsed = std::move(*value);
        document = &parsed;
    }

    Collected whole;
    auto whole_outcome = query->evaluate(
        *document,
        [&whole](const json& value, const NormalizedPath& path) {
            whole.values.push_back(&value);
            whole.paths.push_back(path.to_string());
            return true;
        },
        kBudget);
    if (!whole_outcome || !document->is_object()) return 0;

    CollectionRoot root;
    root.for_each_member = [document](const CollectionRoot::MemberVisitor& visit) {
        for (const auto& [id, member] : document->get_ref<const json::object_t&>()) {
            if (!visit(id, member)) return;
        }
    };
    root.materialize = [document] { return document; };
    Collected streamed;
    auto streamed_outcome = query->evaluate(
        root,
        [&streamed](const json& value, const NormalizedPath& path) {
            streamed.values.push_back(&value);
            streamed.paths.push_back(path.to_string());
            return true;
        },
        kBudget);
    // Streaming can visit a few more nodes (scans instead of lookups), so
    // only a completed run is compared.
    if (streamed_outcome && !(streamed == whole)) __builtin_trap();
    return 0;
}
