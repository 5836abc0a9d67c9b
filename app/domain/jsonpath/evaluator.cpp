#include "domain/jsonpath/evaluator.hpp"

#include <re2/re2.h>

#include "domain/jsonpath/comparison.hpp"
#include "domain/jsonpath/slice.hpp"
#include "domain/jsonpath/utf8.hpp"

namespace nexu::domain::jsonpath {

namespace {

using json = nlohmann::json;

}  // namespace

Result<EvaluationStats> Evaluator::run(const json& root, const ResultSink& sink) {
    root_ = &root;
    return run_top(sink);
}

Result<EvaluationStats> Evaluator::run(const CollectionRoot& root, const ResultSink& sink) {
    if (!root.for_each_member) {
        return nexu::fail(Errc::invalid_argument, "the collection root has no for_each_member");
    }
    if (program_.needs_whole_root && !root.materialize) {
        return nexu::fail(Errc::invalid_argument,
                          "the query uses the whole root ($) as a value, which this "
                          "evaluation cannot materialise");
    }
    collection_ = &root;
    return run_top(sink);
}

Result<EvaluationStats> Evaluator::run_top(const ResultSink& sink) {
    path_.reserve(32);
    auto top = [&](const json& value) {
        if (++stats_.results > budget_.max_results) {
            return fail(Errc::limit_exceeded, "the query produced more than " +
                                                  std::to_string(budget_.max_results) + " results");
        }
        if (sink(value, NormalizedPath{path_})) return true;
        stats_.is_stopped_by_sink = true;
        return false;
    };
    walk_root(program_.paths[program_.root].segments, top);
    if (error_) return tl::make_unexpected(std::move(*error_));
    return stats_;
}

bool Evaluator::fail(Errc code, std::string context) {
    if (!error_) error_ = Error{code, std::move(context)};
    return false;
}

template <class Sink>
bool Evaluator::walk(Segments segments, const json& node, std::size_t depth, Sink& sink) {
    if (segments.empty()) return sink(node);
    const Segment& segment = segments.front();
    const Segments rest = segments.subspan(1);
    if (segment.is_descendant) return descend(segment, rest, node, depth, sink);
    for (const Selector& selector : segment.selectors) {
        if (!select(selector, rest, node, depth, sink)) return false;
    }
    return true;
}

template <class Sink>
bool Evaluator::enter(
    PathElement element, Segments rest, const json& child, std::size_t depth, Sink& sink) {
    path_.push_back(element);
    const bool is_continuing = walk(rest, child, depth + 1, sink);
    path_.pop_back();
    return is_continuing;
}

// RFC 9535 §2.5.2.2: the node itself, then its descendants, arrays in order
// and every node before its descendants; at each, the segment's selectors.
template <class Sink>
bool Evaluator::descend(
    const Segment& segment, Segments rest, const json& node, std::size_t depth, Sink& sink) {
    if (depth > budget_.max_document_depth) {
        return fail(Errc::limit_exceeded, "the document nests deeper than " +
                                              std::to_string(budget_.max_document_depth) +
                                              " levels");
    }
    for (const Selector& selector : segment.selectors) {
        if (!select(selector, rest, node, depth, sink)) return false;
    }
    if (node.is_array()) {
        const auto& elements = node.get_ref<const json::array_t&>();
        for (std::size_t i = 0; i < elements.size(); ++i) {
            if (!visit()) return false;
            path_.push_back(PathElement::element(i));
            const bool is_continuing = descend(segment, rest, elements[i], depth + 1, sink);
            path_.pop_back();
            if (!is_continuing) return false;
        }
    } else if (node.is_object()) {
        for (const auto& [name, child] : node.get_ref<const json::object_t&>()) {
            if (!visit()) return false;
            path_.push_back(PathElement::member(name));
            const bool is_continuing = descend(segment, rest, child, depth + 1, sink);
            path_.pop_back();
            if (!is_continuing) return false;
        }
    }
    return true;
}

template <class Sink>
bool Evaluator::select(
    const Selector& selector, Segments rest, const json& node, std::size_t depth, Sink& sink) {
    switch (selector.kind) {
        case SelectorKind::name: {
            if (!node.is_object()) return true;
            const auto& members = node.get_ref<const json::object_t&>();
            const auto found = members.find(selector.name);
            if (found == members.end()) return true;
            if (!visit()) return false;
            return enter(PathElement::member(found->first), rest, found->second, depth, sink);
        }
        case SelectorKind::wildcard:
            if (node.is_array()) {
                const auto& elements = node.get_ref<const json::array_t&>();
                for (std::size_t i = 0; i < elements.size(); ++i) {
                    if (!visit()) return false;
                    if (!enter(PathElement::element(i), rest, elements[i], depth, sink)) {
                        return false;
                    }
                }
            } else if (node.is_object()) {
                for (const auto& [name, child] : node.get_ref<const json::object_t&>()) {
                    if (!visit()) return false;
                    if (!enter(PathElement::member(name), rest, child, depth, sink)) return false;
                }
            }
            return true;
        case SelectorKind::index: {
            if (!node.is_array()) return true;
            const auto& elements = node.get_ref<const json::array_t&>();
            const auto size = static_cast<std::int64_t>(elements.size());
            const std::int64_t i = selector.index >= 0 ? selector.index : size + selector.index;
            if (i < 0 || i >= size) return true;
            if (!visit()) return false;
            const auto at = static_cast<std::size_t>(i);
            return enter(PathElement::element(at), rest, elements[at], depth, sink);
        }
        case SelectorKind::slice: {
            if (!node.is_array()) return true;
            const auto& elements = node.get_ref<const json::array_t&>();
            const SliceRange range{selector.slice, elements.size()};
            for (std::int64_t i = range.first(); range.contains(i); i += range.step()) {
                if (!visit()) return false;
                const auto at = static_cast<std::size_t>(i);
                if (!enter(PathElement::element(at), rest, elements[at], depth, sink)) {
                    return false;
                }
            }
            return true;
        }
        case SelectorKind::filter:
            if (node.is_array()) {
                const auto& elements = node.get_ref<const json::array_t&>();
                for (std::size_t i = 0; i < elements.size(); ++i) {
                    if (!visit()) return false;
                    if (!holds(selector.filter, elements[i])) {
                        if (error_) return false;
                        continue;
                    }
                    if (!enter(PathElement::element(i), rest, elements[i], depth, sink)) {
                        return false;
                    }
                }
            } else if (node.is_object()) {
                for (const auto& [name, child] : node.get_ref<const json::object_t&>()) {
                    if (!visit()) return false;
                    if (!holds(selector.filter, child)) {
                        if (error_) return false;
                        continue;
                    }
                    if (!enter(PathElement::member(name), rest, child, depth, sink)) return false;
                }
            }
            return true;
    }
    return true;
}

template <class Sink>
bool Evaluator::walk_root(Segments segments, Sink& sink) {
    if (root_ != nullptr) return walk(segments, *root_, 0, sink);
    if (segments.empty()) {
        const json* whole = whole_root();
        return whole != nullptr && sink(*whole);
    }
    const Segment& segment = segments.front();
    const Segments rest = segments.subspan(1);
    // Selector by selector over the root, as RFC 9535 concatenates them.
    for (const Selector& selector : segment.selectors) {
        switch (selector.kind) {
            case SelectorKind::name: {
                const json* member = find_member(selector.name);
                if (error_) return false;
                if (member == nullptr) break;
                if (!visit()) return false;
                if (!enter(PathElement::member(selector.name), rest, *member, 0, sink)) {
                    return false;
                }
                break;
            }
            case SelectorKind::wildcard:
            case SelectorKind::filter:
                if (!walk_members(selector, rest, sink)) return false;
                break;
            case SelectorKind::index:
            case SelectorKind::slice:
                break;  // the root is an object
        }
    }
    if (!segment.is_descendant) return true;
    bool is_continuing = true;
    collection_->for_each_member([&](std::string_view id, const json& document) {
        if (!visit()) return is_continuing = false;
        path_.push_back(PathElement::member(id));
        is_continuing = descend(segment, rest, document, 1, sink);
        path_.pop_back();
        return is_continuing;
    });
    return is_continuing && !error_;
}

template <class Sink>
bool Evaluator::walk_members(const Selector& selector, Segments rest, Sink& sink) {
    bool is_continuing = true;
    collection_->for_each_member([&](std::string_view id, const json& document) {
        if (!visit()) return is_continuing = false;
        if (selector.kind == SelectorKind::filter && !holds(selector.filter, document)) {
            return is_continuing = !error_;
        }
        is_continuing = enter(PathElement::member(id), rest, document, 0, sink);
        return is_continuing;
    });
    return is_continuing && !error_;
}

template <class Sink>
bool Evaluator::walk_query(const Path& path, const json& current, Sink& sink) {
    if (path.is_absolute) return walk_root(path.segments, sink);
    return walk(path.segments, current, 0, sink);
}

const json* Evaluator::find_member(std::string_view name) {
    if (collection_->find_member) return collection_->find_member(name);
    const json* found = nullptr;
    collection_->for_each_member([&](std::string_view id, const json& document) {
        if (id != name) return true;
        found = &document;
        return false;
    });
    return found;
}

const json* Evaluator::whole_root() {
    if (root_ != nullptr) return root_;
    if (materialized_root_ == nullptr && collection_->materialize) {
        materialized_root_ = collection_->materialize();
    }
    if (materialized_root_ == nullptr) {
        fail(Errc::invalid_argument, "the query needs the whole root, which is not available");
    }
    return materialized_root_;
}

bool Evaluator::holds(ExprIndex index, const json& current) {
    const Expr& expr = program_.exprs[index];
    switch (expr.kind) {
        case ExprKind::logical_or:
            for (const ExprIndex child : expr.children) {
                if (holds(child, current)) return true;
                if (error_) return false;
            }
            return false;
        case ExprKind::logical_and:
            for (const ExprIndex child : expr.children) {
                if (!holds(child, current)) return false;
            }
            return true;
        case ExprKind::logical_not:
            return !holds(expr.children[0], current) && !error_;
        case ExprKind::comparison:
            return compare(expr.op, value_of(expr.children[0], current),
                           value_of(expr.children[1], current));
        case ExprKind::test:
            return test(expr.children[0], current);
        default:
            return false;  // the parser never puts a bare value in a logical position
    }
}

bool Evaluator::test(ExprIndex index, const json& current) {
    const Expr& expr = program_.exprs[index];
    if (expr.kind == ExprKind::function) return call_regex_function(expr, current);
    const Path& path = program_.paths[expr.path];
    if (path.is_absolute && path.segments.empty()) return true;  // the root always exists
    bool is_found = false;
    auto first = [&is_found](const json&) {
        is_found = true;
        return false;  // one node answers the question
    };
    walk_query(path, current, first);
    return is_found;
}

Value Evaluator::value_of(ExprIndex index, const json& current) {
    const Expr& expr = program_.exprs[index];
    switch (expr.kind) {
        case ExprKind::literal:
            return Value::of(expr.literal);
        case ExprKind::query:
            return singular(program_.paths[expr.path], current);
        case ExprKind::function:
            return call_value_function(expr, current);
        default:
            return Value::nothing();
    }
}

// A singular query (names and indexes only) follows one pointer per segment.
Value Evaluator::singular(const Path& path, const json& current) {
    const json* node = &current;
    auto segment = path.segments.begin();
    if (path.is_absolute) {
        if (root_ != nullptr) {
            node = root_;
        } else if (segment == path.segments.end()) {
            node = whole_root();
        } else {
            const Selector& first = segment->selectors[0];
            node = first.kind == SelectorKind::name ? find_member(first.name) : nullptr;
            ++segment;
        }
        if (node == nullptr) return Value::nothing();
    }
    for (; segment != path.segments.end(); ++segment) {
        const Selector& selector = segment->selectors[0];
        if (!visit()) return Value::nothing();
        if (selector.kind == SelectorKind::name) {
            if (!node->is_object()) return Value::nothing();
            const auto& members = node->get_ref<const json::object_t&>();
            const auto found = members.find(selector.name);
            if (found == members.end()) return Value::nothing();
            node = &found->second;
        } else {
            if (!node->is_array()) return Value::nothing();
            const auto& elements = node->get_ref<const json::array_t&>();
            const auto size = static_cast<std::int64_t>(elements.size());
            const std::int64_t i = selector.index >= 0 ? selector.index : size + selector.index;
            if (i < 0 || i >= size) return Value::nothing();
            node = &elements[static_cast<std::size_t>(i)];
        }
    }
    return Value::of(*node);
}

Value Evaluator::call_value_function(const Expr& call, const json& current) {
    switch (call.function) {
        case FunctionId::length: {
            const Value argument = value_of(call.children[0], current);
            const json* node = argument.node();
            if (node == nullptr) return Value::nothing();  // Nothing, or a number from count()
            if (node->is_string()) {
                const auto& text = node->get_ref<const json::string_t&>();
                return Value::of_count(static_cast<std::int64_t>(count_code_points(text)));
            }
            if (node->is_array() || node->is_object()) {
                return Value::of_count(static_cast<std::int64_t>(node->size()));
            }
            return Value::nothing();
        }
        case FunctionId::count: {
            std::int64_t count = 0;
            auto counter = [&count](const json&) {
                ++count;
                return true;
            };
            const Path& path = program_.paths[program_.exprs[call.children[0]].path];
            walk_query(path, current, counter);
            return Value::of_count(count);
        }
        case FunctionId::value: {
            const json* only = nullptr;
            int count = 0;
            auto first_two = [&](const json& node) {
                only = &node;
                return ++count < 2;  // a second node already makes the result Nothing
            };
            const Path& path = program_.paths[program_.exprs[call.children[0]].path];
            walk_query(path, current, first_two);
            return count == 1 ? Value::of(*only) : Value::nothing();
        }
        case FunctionId::match:
        case FunctionId::search:
            break;  // logical; the parser keeps them out of here
    }
    return Value::nothing();
}

bool Evaluator::call_regex_function(const Expr& call, const json& current) {
    const Value subject = value_of(call.children[0], current);
    if (subject.node() == nullptr || !subject.node()->is_string()) return false;
    std::shared_ptr<const re2::RE2> dynamic;
    const re2::RE2* regex = nullptr;
    if (call.regex != kNoRegex) {
        regex = query_.regexes[static_cast<std::size_t>(call.regex)].get();
    } else {
        const Value pattern = value_of(call.children[1], current);
        if (pattern.node() == nullptr || !pattern.node()->is_string()) return false;
        dynamic = query_.dynamic_regexes.get(pattern.node()->get_ref<const json::string_t&>());
        regex = dynamic.get();
    }
    if (regex == nullptr) return false;  // not an I-Regexp: RFC 9535 says false
    const auto& text = subject.node()->get_ref<const json::string_t&>();
    const re2::StringPiece input{text.data(), text.size()};
    return call.function == FunctionId::match ? re2::RE2::FullMatch(input, *regex)
                                              : re2::RE2::PartialMatch(input, *regex);
}

}  // namespace nexu::domain::jsonpath
