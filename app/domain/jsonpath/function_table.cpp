#include "domain/jsonpath/function_table.hpp"

namespace nexu::domain::jsonpath {

namespace {

using enum FunctionType;

constexpr std::array kFunctions{
    FunctionSignature{"length", FunctionId::length, value, 1, {value, value}},
    FunctionSignature{"count", FunctionId::count, value, 1, {nodes, nodes}},
    FunctionSignature{"match", FunctionId::match, logical, 2, {value, value}},
    FunctionSignature{"search", FunctionId::search, logical, 2, {value, value}},
    FunctionSignature{"value", FunctionId::value, value, 1, {nodes, nodes}},
};

}  // namespace

const FunctionSignature& signature_of(FunctionId id) {
    return kFunctions[static_cast<std::size_t>(id)];  // listed in FunctionId order
}

std::optional<FunctionSignature> find_function(std::string_view name) {
    for (const auto& function : kFunctions) {
        if (function.name == name) return function;
    }
    return std::nullopt;
}

}  // namespace nexu::domain::jsonpath
