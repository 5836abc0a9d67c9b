#include "domain/jsonpath/slice.hpp"

#include <algorithm>

namespace nexu::domain::jsonpath {

SliceRange::SliceRange(const Slice& slice, std::size_t length) : step_(slice.step) {
    const auto n = static_cast<std::int64_t>(length);
    const auto normalize = [n](std::int64_t i) { return i >= 0 ? i : n + i; };
    if (step_ > 0) {
        first_ = std::clamp(normalize(slice.start.value_or(0)), std::int64_t{0}, n);
        limit_ = std::clamp(normalize(slice.end.value_or(n)), std::int64_t{0}, n);
    } else if (step_ < 0) {
        first_ = std::clamp(normalize(slice.start.value_or(n - 1)), std::int64_t{-1}, n - 1);
        limit_ = std::clamp(normalize(slice.end.value_or(-n - 1)), std::int64_t{-1}, n - 1);
    } else {
        first_ = 0;
        limit_ = 0;
        step_ = 1;  // selects nothing: first_ >= limit_
    }
}

}  // namespace nexu::domain::jsonpath
