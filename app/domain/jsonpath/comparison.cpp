#include "domain/jsonpath/comparison.hpp"

#include <cstdint>

namespace nexu::domain::jsonpath {

namespace {

using json = nlohmann::json;

// -1, 0 or 1. Integers compare exactly; once a float is involved, as doubles.
int compare_numbers(const json& a, const json& b) {
    const auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
    if (a.is_number_float() || b.is_number_float()) {
        return sign(a.get<double>(), b.get<double>());
    }
    const bool a_unsigned = a.is_number_unsigned();
    const bool b_unsigned = b.is_number_unsigned();
    if (a_unsigned && b_unsigned) return sign(a.get<std::uint64_t>(), b.get<std::uint64_t>());
    if (!a_unsigned && !b_unsigned) return sign(a.get<std::int64_t>(), b.get<std::int64_t>());
    if (a_unsigned) {
        const auto y = b.get<std::int64_t>();
        return y < 0 ? 1 : sign(a.get<std::uint64_t>(), static_cast<std::uint64_t>(y));
    }
    const auto x = a.get<std::int64_t>();
    return x < 0 ? -1 : sign(static_cast<std::uint64_t>(x), b.get<std::uint64_t>());
}

// Counts from length()/count() become JSON numbers only when compared, so
// the common case (two document values) never builds one.
template <class F>
bool with_json(const Value& value, F&& f) {
    if (value.is_count()) {
        const json number = value.count();
        return f(number);
    }
    return f(*value.node());
}

bool equal(const Value& left, const Value& right) {
    if (left.is_nothing() || right.is_nothing()) return left.is_nothing() && right.is_nothing();
    return with_json(left, [&](const json& a) {
        return with_json(right, [&](const json& b) { return json_equal(a, b); });
    });
}

bool less(const Value& left, const Value& right) {
    if (left.is_nothing() || right.is_nothing()) return false;
    return with_json(left, [&](const json& a) {
        return with_json(right, [&](const json& b) {
            if (a.is_number() && b.is_number()) return compare_numbers(a, b) < 0;
            if (a.is_string() && b.is_string()) {
                return a.get_ref<const json::string_t&>() < b.get_ref<const json::string_t&>();
            }
            return false;
        });
    });
}

}  // namespace

bool json_equal(const json& left, const json& right) {
    if (left.is_number() && right.is_number()) return compare_numbers(left, right) == 0;
    if (left.type() != right.type()) return false;
    switch (left.type()) {
        case json::value_t::string:
            return left.get_ref<const json::string_t&>() == right.get_ref<const json::string_t&>();
        case json::value_t::boolean:
            return left.get<bool>() == right.get<bool>();
        case json::value_t::null:
            return true;
        case json::value_t::array: {
            const auto& a = left.get_ref<const json::array_t&>();
            const auto& b = right.get_ref<const json::array_t&>();
            if (a.size() != b.size()) return false;
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (!json_equal(a[i], b[i])) return false;
            }
            return true;
        }
        case json::value_t::object: {
            // Both maps are sorted by key, so equal objects line up member by member.
            const auto& a = left.get_ref<const json::object_t&>();
            const auto& b = right.get_ref<const json::object_t&>();
            if (a.size() != b.size()) return false;
            for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
                if (i->first != j->first || !json_equal(i->second, j->second)) return false;
            }
            return true;
        }
        default:
            return false;  // binary and discarded values never come from JSON text
    }
}

bool compare(CompareOp op, const Value& left, const Value& right) {
    switch (op) {
        case CompareOp::eq:
            return equal(left, right);
        case CompareOp::ne:
            return !equal(left, right);
        case CompareOp::lt:
            return less(left, right);
        case CompareOp::le:
            return less(left, right) || equal(left, right);
        case CompareOp::gt:
            return less(right, left);
        case CompareOp::ge:
            return less(right, left) || equal(left, right);
    }
    return false;
}

}  // namespace nexu::domain::jsonpath
