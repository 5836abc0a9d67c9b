#pragma once

#include <nlohmann/json.hpp>

namespace nexu::domain {

// Applies a JSON Merge Patch (RFC 7396) to `target` in place: objects merge
// member by member, null removes a member, anything else replaces. Recursion
// follows the patch's depth, which callers bound by parsing it with
// parse_json (64 levels).
void apply_merge_patch(nlohmann::json& target, const nlohmann::json& patch);

}  // namespace nexu::domain
