#include "domain/merge_patch.hpp"

namespace nexu::domain {

void apply_merge_patch(nlohmann::json& target, const nlohmann::json& patch) {
    if (!patch.is_object()) {
        target = patch;
        return;
    }
    if (!target.is_object()) target = nlohmann::json::object();
    for (const auto& [name, value] : patch.items()) {
        if (value.is_null()) {
            target.erase(name);
        } else {
            apply_merge_patch(target[name], value);
        }
    }
}

}  // namespace nexu::domain
