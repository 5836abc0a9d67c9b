#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include "domain/jsonpath/slice.hpp"

using nexu::domain::jsonpath::Slice;
using nexu::domain::jsonpath::SliceRange;

namespace {

std::vector<std::int64_t> indexes(Slice slice, std::size_t length) {
    const SliceRange range{slice, length};
    std::vector<std::int64_t> out;
    for (auto i = range.first(); range.contains(i); i += range.step()) out.push_back(i);
    return out;
}

using V = std::vector<std::int64_t>;
constexpr auto none = std::nullopt;

}  // namespace

// RFC 9535 §2.3.4.2.2 and its examples (Table 9), over a 7-element array.
TEST_CASE("slices select the indexes RFC 9535 computes", "[jsonpath]") {
    CHECK(indexes({1, 3, 1}, 7) == V{1, 2});
    CHECK(indexes({5, none, 1}, 7) == V{5, 6});
    CHECK(indexes({1, 5, 2}, 7) == V{1, 3});
    CHECK(indexes({5, 1, -2}, 7) == V{5, 3});
    CHECK(indexes({none, none, -1}, 7) == V{6, 5, 4, 3, 2, 1, 0});
    CHECK(indexes({none, none, 1}, 7) == V{0, 1, 2, 3, 4, 5, 6});
    CHECK(indexes({-2, none, 1}, 7) == V{5, 6});
    CHECK(indexes({none, -2, 1}, 7) == V{0, 1, 2, 3, 4});
}

TEST_CASE("slice bounds are clamped, step 0 selects nothing", "[jsonpath]") {
    CHECK(indexes({-100, 100, 1}, 3) == V{0, 1, 2});
    CHECK(indexes({100, -100, -1}, 3) == V{2, 1, 0});
    CHECK(indexes({0, 3, 0}, 3).empty());
    CHECK(indexes({2, 1, 1}, 3).empty());
    CHECK(indexes({1, 2, -1}, 3).empty());
    CHECK(indexes({none, none, 1}, 0).empty());
    CHECK(indexes({none, none, -1}, 0).empty());
    CHECK(indexes({0, none, 9007199254740991}, 3) == V{0});
    CHECK(indexes({-9007199254740991, 9007199254740991, -9007199254740991}, 3).empty());
    CHECK(indexes({9007199254740991, -9007199254740991, -9007199254740991}, 3) == V{2});
}
