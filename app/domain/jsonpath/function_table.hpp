#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nexu::domain::jsonpath {

// The declared types of RFC 9535 §2.4.1, checked while parsing: a query that
// uses a function against its declaration is invalid, not merely false.
enum class FunctionType : std::uint8_t { value, logical, nodes };

enum class FunctionId : std::uint8_t { length, count, match, search, value };

struct FunctionSignature {
    std::string_view name;
    FunctionId id;
    FunctionType result;
    std::uint8_t arity;
    std::array<FunctionType, 2> parameters;
};

// The function extensions RFC 9535 §2.4.4-2.4.8 defines; nullopt for any
// other name.
std::optional<FunctionSignature> find_function(std::string_view name);
const FunctionSignature& signature_of(FunctionId id);

}  // namespace nexu::domain::jsonpath
