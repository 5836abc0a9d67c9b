#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace nexu::domain::jsonpath {

// A ValueType result (RFC 9535 §2.4.1): Nothing, a JSON value in the
// document or the query, or a count computed by length()/count(). Holding a
// pointer instead of a copy keeps comparisons free of allocation.
class Value {
public:
    static Value nothing() { return Value{}; }
    static Value of(const nlohmann::json& node) { return Value{&node, 0}; }
    static Value of_count(std::int64_t count) { return Value{nullptr, count, true}; }

    bool is_nothing() const { return node_ == nullptr && !is_count_; }
    bool is_count() const { return is_count_; }
    const nlohmann::json* node() const { return node_; }
    std::int64_t count() const { return count_; }

private:
    Value() = default;
    Value(const nlohmann::json* node, std::int64_t count, bool is_count = false)
        : node_(node), count_(count), is_count_(is_count) {}

    const nlohmann::json* node_ = nullptr;
    std::int64_t count_ = 0;
    bool is_count_ = false;
};

}  // namespace nexu::domain::jsonpath
