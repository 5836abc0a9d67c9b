#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.hpp"
#include "domain/jsonpath/ast.hpp"
#include "domain/jsonpath/limits.hpp"

namespace nexu::domain::jsonpath {

// Recursive-descent parser for the whole RFC 9535 grammar (Appendix A),
// including the well-typedness rules of §2.4.3, which it checks as it goes:
// a query that is not well-typed is as invalid as one with a syntax error.
// One Parser parses one text once; it is not reusable and not shared.
//
// Errors: Errc::invalid_argument with a context "at position N: ..." where N
// counts characters (Unicode scalar values) from 0 and names where parsing
// stopped; Errc::limit_exceeded when the text or its nesting is too large.
class Parser {
public:
    Parser(std::string_view text, const QueryLimits& limits) : text_(text), limits_(limits) {}

    Result<Program> parse();

private:
    bool parse_segments(Path& path);
    bool parse_segment(Segment& segment);
    bool parse_bracketed(Segment& segment);
    bool parse_selector(Selector& selector);
    bool parse_slice_or_index(Selector& selector);
    bool parse_int(std::int64_t& value);
    bool parse_member_name(std::string& name);
    bool parse_logical_or(ExprIndex& out);
    bool parse_logical_and(ExprIndex& out);
    bool parse_basic(ExprIndex& out);
    bool parse_paren(ExprIndex& out);
    bool parse_operand(ExprIndex& out);
    bool parse_number(ExprIndex& out);
    bool parse_string(std::string& value);
    bool parse_query(ExprIndex& out);
    bool parse_function(std::string_view name, std::size_t name_at, ExprIndex& out);
    bool parse_argument(const FunctionSignature& function, std::size_t position, ExprIndex& out);

    // Type checks (RFC 9535 §2.4.3); each fails naming `at` when it does not hold.
    bool check_comparable(ExprIndex expr, std::size_t at);
    bool check_test(ExprIndex expr, std::size_t at);
    void note_root_use(ExprIndex expr);

    bool enter_nesting(std::size_t at);
    bool is_member_name_start() const;
    std::optional<CompareOp> read_compare_op();
    void skip_blank();
    char peek(std::size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }
    bool at_end() const { return pos_ >= text_.size(); }
    ExprIndex add(Expr expr);
    bool fail(std::size_t at, std::string message);

    std::string_view text_;
    QueryLimits limits_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;
    bool bracket_has_blank_ = false;  // the last segment parsed had blanks inside [ ]
    Program program_;
    std::optional<Error> error_;
};

}  // namespace nexu::domain::jsonpath
