#pragma once

#include <nlohmann/json.hpp>

#include "domain/jsonpath/ast.hpp"
#include "domain/jsonpath/value.hpp"

namespace nexu::domain::jsonpath {

// RFC 9535 §2.3.5.2.2 comparisons. == holds for two Nothings, never for
// Nothing and a value; numbers compare by value whatever their JSON
// representation (1 == 1.0); arrays and objects compare deeply, members
// irrespective of order; < holds only between two numbers or two strings
// (strings by Unicode scalar values, which is the byte order of UTF-8);
// != , <= , >= are derived from == and <, so `null <= null` holds.
bool compare(CompareOp op, const Value& left, const Value& right);

// Deep JSON equality with numbers compared by value.
bool json_equal(const nlohmann::json& left, const nlohmann::json& right);

}  // namespace nexu::domain::jsonpath
