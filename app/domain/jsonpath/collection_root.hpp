#pragma once

#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nexu::domain::jsonpath {

// A root object the caller never builds: its members (document id ->
// document) are handed over one at a time, so a collection can be queried
// straight from the store's index and cache. The query sees exactly the
// object {id: document, ...} with members in the order for_each_member
// visits them (the query endpoint: _id order).
//
// What each query shape costs over it:
//   $[?@.age > 90], $.*.email, $[*]   one pass over the members
//   $['some-id'], $.someid            find_member (or a scan when it is unset)
//   $..email                          the root's own member "email" first,
//                                     then one pass descending into each member
//   $[0], $[1:3]                      nothing: indexes and slices select
//                                     nothing from an object, and no member is read
//   $['a', 'b'], $[*, ?...]           one pass per selector, as RFC 9535 orders
//                                     a segment's results selector by selector
//   $.x inside a filter               find_member per evaluation of the filter
//   $ as a whole value (the query `$`, `@ == $`, length($), value($))
//                                     materialize(); Query::needs_whole_root() says
//                                     so at compile time, and evaluation fails
//                                     (Errc::invalid_argument) when it is unset
//
// The callbacks are called on the evaluating thread only, never after
// evaluate() returns; the ids and documents they pass must stay valid until
// the visit they are passed to returns (a result's value and path only during
// the result callback).
struct CollectionRoot {
    using MemberVisitor = std::function<bool(std::string_view id, const nlohmann::json& document)>;

    // Calls `visit` for each member in order until it returns false. Called
    // once per pass, so it must be repeatable.
    std::function<void(const MemberVisitor& visit)> for_each_member;
    // The member named `id`, or nullptr. Optional: without it a name selector
    // scans the members.
    std::function<const nlohmann::json*(std::string_view id)> find_member;
    // The whole root object, built on demand. Optional; see above.
    std::function<const nlohmann::json*()> materialize;
};

}  // namespace nexu::domain::jsonpath
