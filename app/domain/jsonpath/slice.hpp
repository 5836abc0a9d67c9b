#pragma once

#include <cstddef>
#include <cstdint>

#include "domain/jsonpath/ast.hpp"

namespace nexu::domain::jsonpath {

// The indexes a slice selects from an array of `length` elements, as RFC 9535
// §2.3.4.2.2 computes them: negative bounds count from the end, bounds are
// clamped, a negative step walks backwards from `start` (default: the last
// element) down to just above `end`, and a step of 0 selects nothing.
class SliceRange {
public:
    SliceRange(const Slice& slice, std::size_t length);

    bool is_empty() const { return step_ > 0 ? first_ >= limit_ : first_ <= limit_; }
    std::int64_t first() const { return first_; }
    std::int64_t step() const { return step_; }
    // True while `index` (first(), first() + step(), ...) is still selected.
    bool contains(std::int64_t index) const { return step_ > 0 ? index < limit_ : index > limit_; }

private:
    std::int64_t first_ = 0;
    std::int64_t limit_ = 0;  // exclusive
    std::int64_t step_ = 0;
};

}  // namespace nexu::domain::jsonpath
