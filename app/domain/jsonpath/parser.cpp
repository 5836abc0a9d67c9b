#include "domain/jsonpath/parser.hpp"

#include <charconv>
#include <cstdlib>
#include <utility>

#include "domain/jsonpath/string_literal.hpp"
#include "domain/jsonpath/utf8.hpp"

namespace nexu::domain::jsonpath {

namespace {

// I-JSON (RFC 7493) exact integers: the range RFC 9535 allows for indexes and
// slice bounds.
constexpr std::int64_t kMaxExactInteger = (std::int64_t{1} << 53) - 1;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_lower_alpha(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

Expr make_expr(ExprKind kind, std::vector<ExprIndex> children = {}) {
    Expr expr;
    expr.kind = kind;
    expr.children = std::move(children);
    return expr;
}

Expr make_literal(nlohmann::json value) {
    Expr expr;
    expr.kind = ExprKind::literal;
    expr.literal = std::move(value);
    return expr;
}

// Restores the nesting depth when a nested construct has been parsed.
class NestingScope {
public:
    explicit NestingScope(std::size_t& depth) : depth_(depth) {}
    ~NestingScope() { --depth_; }
    NestingScope(const NestingScope&) = delete;
    NestingScope& operator=(const NestingScope&) = delete;

private:
    std::size_t& depth_;
};

}  // namespace

Result<Program> Parser::parse() {
    if (text_.size() > limits_.max_query_bytes) {
        return nexu::fail(
            Errc::limit_exceeded,
            "the query is longer than " + std::to_string(limits_.max_query_bytes) + " bytes");
    }
    for (std::size_t i = 0; i < text_.size();) {
        const auto decoded = decode_utf8(text_, i);
        if (!decoded) {
            fail(i, "expected valid UTF-8");
            return tl::make_unexpected(std::move(*error_));
        }
        i += decoded->length;
    }
    if (peek() != '$') {
        fail(0, "expected '$' at the start of the query");
        return tl::make_unexpected(std::move(*error_));
    }
    ++pos_;
    Path root;
    root.is_absolute = true;
    program_.paths.emplace_back();  // the root keeps index 0
    if (!parse_segments(root)) return tl::make_unexpected(std::move(*error_));
    if (!at_end()) {
        fail(pos_, "expected '.', '..', '[' or the end of the query");
        return tl::make_unexpected(std::move(*error_));
    }
    if (root.segments.empty()) program_.needs_whole_root = true;
    program_.paths[0] = std::move(root);
    program_.root = 0;
    return std::move(program_);
}

bool Parser::parse_segments(Path& path) {
    while (true) {
        const std::size_t before_blank = pos_;
        skip_blank();
        if (peek() != '[' && peek() != '.') {
            pos_ = before_blank;  // the blank belongs to whatever follows the query
            break;
        }
        Segment segment;
        if (!parse_segment(segment)) return false;
        // Singular segments are written without blanks inside the brackets
        // (name-segment, index-segment): `@[ 'a' ]` is a query, not singular.
        const bool is_single = !segment.is_descendant && segment.selectors.size() == 1 &&
                               !bracket_has_blank_ &&
                               (segment.selectors[0].kind == SelectorKind::name ||
                                segment.selectors[0].kind == SelectorKind::index);
        path.is_singular = path.is_singular && is_single;
        path.segments.push_back(std::move(segment));
    }
    return true;
}

bool Parser::parse_segment(Segment& segment) {
    bracket_has_blank_ = false;
    if (peek() == '.' && peek(1) == '.') {
        pos_ += 2;
        segment.is_descendant = true;
        if (peek() == '[') return parse_bracketed(segment);
    } else if (peek() == '.') {
        ++pos_;
    } else {
        return parse_bracketed(segment);
    }
    Selector selector;
    if (peek() == '*') {
        ++pos_;
        selector.kind = SelectorKind::wildcard;
    } else if (is_member_name_start()) {
        selector.kind = SelectorKind::name;
        if (!parse_member_name(selector.name)) return false;
    } else {
        return fail(pos_, segment.is_descendant ? "expected '[', '*' or a member name after '..'"
                                                : "expected '*' or a member name after '.'");
    }
    segment.selectors.push_back(std::move(selector));
    return true;
}

bool Parser::parse_bracketed(Segment& segment) {
    ++pos_;  // '['
    std::size_t before_blank = pos_;
    skip_blank();
    bool has_blank = pos_ != before_blank;
    while (true) {
        Selector selector;
        if (!parse_selector(selector)) return false;
        segment.selectors.push_back(std::move(selector));
        before_blank = pos_;
        skip_blank();
        has_blank = has_blank || pos_ != before_blank;
        bracket_has_blank_ = has_blank;
        if (peek() == ']') {
            ++pos_;
            return true;
        }
        if (peek() != ',') return fail(pos_, "expected ',' or ']'");
        ++pos_;
        skip_blank();
    }
}

bool Parser::parse_selector(Selector& selector) {
    const char c = peek();
    if (c == '\'' || c == '"') {
        selector.kind = SelectorKind::name;
        return parse_string(selector.name);
    }
    if (c == '*') {
        ++pos_;
        selector.kind = SelectorKind::wildcard;
        return true;
    }
    if (c == '?') {
        if (!enter_nesting(pos_)) return false;
        NestingScope scope{depth_};
        ++pos_;
        skip_blank();
        selector.kind = SelectorKind::filter;
        return parse_logical_or(selector.filter);
    }
    if (c == '-' || is_digit(c) || c == ':') return parse_slice_or_index(selector);
    return fail(pos_, "expected a selector (a quoted name, '*', an index, a slice or a filter)");
}

bool Parser::parse_slice_or_index(Selector& selector) {
    const auto is_int_start = [this] { return peek() == '-' || is_digit(peek()); };
    std::int64_t value = 0;
    if (peek() != ':') {
        if (!parse_int(value)) return false;
        const std::size_t after = pos_;
        skip_blank();
        if (peek() != ':') {
            pos_ = after;
            selector.kind = SelectorKind::index;
            selector.index = value;
            return true;
        }
        selector.slice.start = value;
    }
    selector.kind = SelectorKind::slice;
    ++pos_;  // ':'
    skip_blank();
    if (is_int_start()) {
        if (!parse_int(value)) return false;
        selector.slice.end = value;
        skip_blank();
    }
    if (peek() == ':') {
        ++pos_;
        skip_blank();
        if (is_int_start()) {
            if (!parse_int(value)) return false;
            selector.slice.step = value;
        }
    }
    return true;
}

bool Parser::parse_int(std::int64_t& value) {
    const std::size_t start = pos_;
    const bool is_negative = peek() == '-';
    if (is_negative) ++pos_;
    if (!is_digit(peek())) return fail(pos_, "expected a digit");
    if (peek() == '0') {
        if (is_negative) return fail(start, "expected an integer ('-0' is not one)");
        ++pos_;
        if (is_digit(peek())) return fail(start, "expected an integer without leading zeros");
        value = 0;
        return true;
    }
    std::int64_t magnitude = 0;
    while (is_digit(peek())) {
        magnitude = magnitude * 10 + (peek() - '0');
        ++pos_;
        if (magnitude > kMaxExactInteger) {
            return fail(start, "expected an integer within the I-JSON range of +-(2^53-1)");
        }
    }
    value = is_negative ? -magnitude : magnitude;
    return true;
}

bool Parser::is_member_name_start() const {
    const char c = peek();
    if ((c >= 'A' && c <= 'Z') || is_lower_alpha(c) || c == '_') return true;
    return static_cast<unsigned char>(c) >= 0x80;  // validated UTF-8: U+0080 and above
}

bool Parser::parse_member_name(std::string& name) {
    const std::size_t start = pos_;
    while (!at_end() && (is_member_name_start() || is_digit(peek()))) {
        pos_ += decode_utf8(text_, pos_)->length;
    }
    name.assign(text_.substr(start, pos_ - start));
    return true;
}

bool Parser::parse_string(std::string& value) {
    auto literal = read_string_literal(text_, pos_);
    if (!literal.is_valid) return fail(literal.error, "expected " + std::string{literal.expected});
    value = std::move(literal.value);
    pos_ = literal.end;
    return true;
}

bool Parser::parse_logical_or(ExprIndex& out) {
    if (!parse_logical_and(out)) return false;
    Expr disjunction = make_expr(ExprKind::logical_or, {out});
    while (true) {
        const std::size_t before = pos_;
        skip_blank();
        if (peek() != '|' || peek(1) != '|') {
            pos_ = before;
            break;
        }
        pos_ += 2;
        skip_blank();
        ExprIndex operand = 0;
        if (!parse_logical_and(operand)) return false;
        disjunction.children.push_back(operand);
    }
    if (disjunction.children.size() > 1) out = add(std::move(disjunction));
    return true;
}

bool Parser::parse_logical_and(ExprIndex& out) {
    if (!parse_basic(out)) return false;
    Expr conjunction = make_expr(ExprKind::logical_and, {out});
    while (true) {
        const std::size_t before = pos_;
        skip_blank();
        if (peek() != '&' || peek(1) != '&') {
            pos_ = before;
            break;
        }
        pos_ += 2;
        skip_blank();
        ExprIndex operand = 0;
        if (!parse_basic(operand)) return false;
        conjunction.children.push_back(operand);
    }
    if (conjunction.children.size() > 1) out = add(std::move(conjunction));
    return true;
}

bool Parser::parse_basic(ExprIndex& out) {
    if (peek() == '!') {
        // RFC 9535 allows one '!' before a test or a parenthesized expression;
        // '!!@.a' and '!@.a == 1' are not in the grammar.
        ++pos_;
        skip_blank();
        ExprIndex inner = 0;
        if (peek() == '(') {
            if (!parse_paren(inner)) return false;
        } else {
            const std::size_t operand_at = pos_;
            if (!parse_operand(inner)) return false;
            if (!check_test(inner, operand_at)) return false;
            inner = add(make_expr(ExprKind::test, {inner}));
        }
        out = add(make_expr(ExprKind::logical_not, {inner}));
        return true;
    }
    if (peek() == '(') return parse_paren(out);
    const std::size_t left_at = pos_;
    ExprIndex left = 0;
    if (!parse_operand(left)) return false;
    const std::size_t after_left = pos_;
    skip_blank();
    const auto op = read_compare_op();
    if (!op) {
        pos_ = after_left;
        if (program_.exprs[left].kind == ExprKind::literal) {
            return fail(pos_, "expected a comparison operator after a literal");
        }
        if (!check_test(left, left_at)) return false;
        out = add(make_expr(ExprKind::test, {left}));
        return true;
    }
    if (!check_comparable(left, left_at)) return false;
    skip_blank();
    const std::size_t right_at = pos_;
    ExprIndex right = 0;
    if (!parse_operand(right)) return false;
    if (!check_comparable(right, right_at)) return false;
    note_root_use(left);
    note_root_use(right);
    Expr comparison = make_expr(ExprKind::comparison, {left, right});
    comparison.op = *op;
    out = add(std::move(comparison));
    return true;
}

bool Parser::parse_paren(ExprIndex& out) {
    if (!enter_nesting(pos_)) return false;
    NestingScope scope{depth_};
    ++pos_;  // '('
    skip_blank();
    if (!parse_logical_or(out)) return false;
    skip_blank();
    if (peek() != ')') return fail(pos_, "expected ')'");
    ++pos_;
    return true;
}

bool Parser::parse_operand(ExprIndex& out) {
    const char c = peek();
    if (c == '@' || c == '$') return parse_query(out);
    if (c == '\'' || c == '"') {
        std::string value;
        if (!parse_string(value)) return false;
        out = add(make_literal(std::move(value)));
        return true;
    }
    if (c == '-' || is_digit(c)) return parse_number(out);
    if (is_lower_alpha(c)) {
        const std::size_t start = pos_;
        while (is_lower_alpha(peek()) || is_digit(peek()) || peek() == '_') ++pos_;
        const std::string_view word = text_.substr(start, pos_ - start);
        if (peek() == '(') return parse_function(word, start, out);
        nlohmann::json literal;
        if (word == "true") {
            literal = true;
        } else if (word == "false") {
            literal = false;
        } else if (word != "null") {
            return fail(start, "expected a literal, a query or a function call");
        }
        out = add(make_literal(std::move(literal)));
        return true;
    }
    return fail(pos_, "expected a literal, a query or a function call");
}

bool Parser::parse_number(ExprIndex& out) {
    const std::size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (!is_digit(peek())) return fail(pos_, "expected a digit");
    if (peek() == '0') {
        ++pos_;
        if (is_digit(peek())) return fail(start, "expected a number without leading zeros");
    } else {
        while (is_digit(peek())) ++pos_;
    }
    bool is_integer = true;
    if (peek() == '.') {
        ++pos_;
        if (!is_digit(peek())) return fail(pos_, "expected a digit after '.'");
        while (is_digit(peek())) ++pos_;
        is_integer = false;
    }
    if (peek() == 'e' || peek() == 'E') {
        ++pos_;
        if (peek() == '+' || peek() == '-') ++pos_;
        if (!is_digit(peek())) return fail(pos_, "expected a digit in the exponent");
        while (is_digit(peek())) ++pos_;
        is_integer = false;
    }
    const std::string digits{text_.substr(start, pos_ - start)};
    nlohmann::json literal;
    std::int64_t integer = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), integer);
    if (is_integer && ec == std::errc{} && end == digits.data() + digits.size()) {
        literal = integer;
    } else {
        literal = std::strtod(digits.c_str(), nullptr);
    }
    out = add(make_literal(std::move(literal)));
    return true;
}

bool Parser::parse_query(ExprIndex& out) {
    Path path;
    path.is_absolute = peek() == '$';
    ++pos_;
    if (!parse_segments(path)) return false;
    const auto index = static_cast<PathIndex>(program_.paths.size());
    program_.paths.push_back(std::move(path));
    Expr query = make_expr(ExprKind::query);
    query.path = index;
    out = add(std::move(query));
    return true;
}

bool Parser::parse_function(std::string_view name, std::size_t name_at, ExprIndex& out) {
    const auto function = find_function(name);
    if (!function) return fail(name_at, "unknown function '" + std::string{name} + "'");
    if (!enter_nesting(pos_)) return false;
    NestingScope scope{depth_};
    ++pos_;  // '('
    skip_blank();
    Expr call = make_expr(ExprKind::function);
    call.function = function->id;
    const auto arity_message = [&] {
        return "function '" + std::string{name} + "' takes " + std::to_string(function->arity) +
               (function->arity == 1 ? " argument" : " arguments");
    };
    if (peek() != ')') {
        while (true) {
            if (call.children.size() == function->arity) return fail(pos_, arity_message());
            ExprIndex argument = 0;
            if (!parse_argument(*function, call.children.size(), argument)) return false;
            call.children.push_back(argument);
            skip_blank();
            if (peek() != ',') break;
            ++pos_;
            skip_blank();
        }
    }
    if (peek() != ')') return fail(pos_, "expected ',' or ')'");
    if (call.children.size() != function->arity) return fail(pos_, arity_message());
    ++pos_;
    if (function->id == FunctionId::match || function->id == FunctionId::search) {
        const Expr& pattern = program_.exprs[call.children[1]];
        if (pattern.kind == ExprKind::literal && pattern.literal.is_string()) {
            call.regex = static_cast<std::int32_t>(program_.regex_patterns.size());
            program_.regex_patterns.push_back(pattern.literal.get<std::string>());
        }
    }
    out = add(std::move(call));
    return true;
}

bool Parser::parse_argument(const FunctionSignature& function,
                            std::size_t position,
                            ExprIndex& out) {
    // function-argument = literal / filter-query / logical-expr / function-expr:
    // read a single operand first, and re-read as a logical expression when
    // an operator follows it.
    const std::size_t start = pos_;
    const std::size_t exprs_mark = program_.exprs.size();
    const std::size_t paths_mark = program_.paths.size();
    const std::size_t regex_mark = program_.regex_patterns.size();
    bool is_logical = peek() == '!' || peek() == '(';
    if (is_logical) {
        if (!parse_logical_or(out)) return false;
    } else {
        if (!parse_operand(out)) return false;
        const std::size_t after = pos_;
        skip_blank();
        const bool is_followed_by_operator = read_compare_op().has_value() ||
                                             (peek() == '&' && peek(1) == '&') ||
                                             (peek() == '|' && peek(1) == '|');
        pos_ = after;
        if (is_followed_by_operator) {
            program_.exprs.resize(exprs_mark);
            program_.paths.resize(paths_mark);
            program_.regex_patterns.resize(regex_mark);
            pos_ = start;
            is_logical = true;
            if (!parse_logical_or(out)) return false;
        }
    }
    const std::string which =
        "argument " + std::to_string(position + 1) + " of '" + std::string{function.name} + "'";
    const Expr& argument = program_.exprs[out];
    switch (function.parameters[position]) {
        case FunctionType::value:
            if (is_logical)
                return fail(start, which + " must be a value, not a logical expression");
            if (!check_comparable(out, start)) return false;
            note_root_use(out);
            return true;
        case FunctionType::logical:
            if (is_logical) return true;
            if (argument.kind == ExprKind::literal) {
                return fail(start, which + " must be a logical expression, not a literal");
            }
            if (!check_test(out, start)) return false;
            out = add(make_expr(ExprKind::test, {out}));
            return true;
        case FunctionType::nodes:
            if (argument.kind != ExprKind::query) {
                return fail(start, which + " must be a query");
            }
            note_root_use(out);
            return true;
    }
    return fail(start, which + " has an unknown type");
}

bool Parser::check_comparable(ExprIndex expr, std::size_t at) {
    const Expr& e = program_.exprs[expr];
    switch (e.kind) {
        case ExprKind::literal:
            return true;
        case ExprKind::query:
            if (program_.paths[e.path].is_singular) return true;
            return fail(at, "expected a singular query (only names and indexes) here");
        case ExprKind::function: {
            const auto& function = signature_of(e.function);
            if (function.result == FunctionType::value) return true;
            return fail(at, "function '" + std::string{function.name} +
                                "' returns a logical value, which cannot be compared");
        }
        default:
            return fail(at, "expected a literal, a singular query or a function call");
    }
}

bool Parser::check_test(ExprIndex expr, std::size_t at) {
    const Expr& e = program_.exprs[expr];
    if (e.kind == ExprKind::query) return true;
    if (e.kind == ExprKind::function) {
        const auto& function = signature_of(e.function);
        if (function.result != FunctionType::value) return true;
        return fail(at, "function '" + std::string{function.name} +
                            "' returns a value: compare it instead of testing it");
    }
    return fail(at, "expected a query or a function call");
}

void Parser::note_root_use(ExprIndex expr) {
    // A bare `$` as a value stands for the whole root; an evaluation over
    // members only (a collection) has to materialise it.
    const Expr& e = program_.exprs[expr];
    if (e.kind != ExprKind::query) return;
    const Path& path = program_.paths[e.path];
    if (path.is_absolute && path.segments.empty()) program_.needs_whole_root = true;
}

bool Parser::enter_nesting(std::size_t at) {
    ++depth_;
    if (depth_ <= limits_.max_nesting_depth) return true;
    fail(at,
         "the query nests deeper than " + std::to_string(limits_.max_nesting_depth) + " levels");
    error_->code = Errc::limit_exceeded;
    return false;
}

std::optional<CompareOp> Parser::read_compare_op() {
    const char first = peek();
    const bool has_equals = peek(1) == '=';
    std::optional<CompareOp> op;
    if (first == '=' && has_equals) {
        op = CompareOp::eq;
    } else if (first == '!' && has_equals) {
        op = CompareOp::ne;
    } else if (first == '<') {
        op = has_equals ? CompareOp::le : CompareOp::lt;
    } else if (first == '>') {
        op = has_equals ? CompareOp::ge : CompareOp::gt;
    }
    if (op) pos_ += (has_equals ? 2 : 1);
    return op;
}

void Parser::skip_blank() {
    while (is_blank(peek()) && !at_end()) ++pos_;
}

ExprIndex Parser::add(Expr expr) {
    program_.exprs.push_back(std::move(expr));
    return static_cast<ExprIndex>(program_.exprs.size() - 1);
}

bool Parser::fail(std::size_t at, std::string message) {
    if (!error_) {
        const std::size_t characters = count_code_points(text_.substr(0, at));
        error_ = Error{Errc::invalid_argument,
                       "at position " + std::to_string(characters) + ": " + std::move(message)};
    }
    return false;
}

}  // namespace nexu::domain::jsonpath
