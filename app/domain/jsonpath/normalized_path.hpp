#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace nexu::domain::jsonpath {

// One step of a path: a member name or an array index. The name views the
// key inside the document (or the id the caller handed over), so pushing a
// step never allocates.
struct PathElement {
    static PathElement member(std::string_view name) { return PathElement{name, 0, false}; }
    static PathElement element(std::size_t index) { return PathElement{{}, index, true}; }

    std::string_view name;
    std::size_t index = 0;
    bool is_index = false;
};

// The location of one result as RFC 9535 §2.7 Normalized Path, e.g.
// $['store']['book'][0]. A view over the evaluator's path stack: valid only
// during the callback that receives it; to_string() copies it out. Formatting
// happens only for the results a caller asks about, never per visited node.
class NormalizedPath {
public:
    explicit NormalizedPath(std::span<const PathElement> elements) : elements_(elements) {}

    std::span<const PathElement> elements() const { return elements_; }
    std::string to_string() const;
    void append_to(std::string& out) const;

private:
    std::span<const PathElement> elements_;
};

// Appends `name` as a Normalized Path name selector, quotes included: the
// quote and the backslash escaped, \b \f \n \r \t by name, other controls as
// \u00xx (lowercase hex), everything else as is.
void append_name_selector(std::string& out, std::string_view name);

}  // namespace nexu::domain::jsonpath
