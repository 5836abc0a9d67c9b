#include "repositories/query_plan.hpp"

#include <optional>

namespace nexu::repositories {

namespace {

using domain::jsonpath::CompareOp;

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

// Skips a string literal starting at text[pos] (a quote); returns the index
// after its closing quote, or npos when it does not close.
std::size_t skip_string(std::string_view text, std::size_t pos) {
    const char quote = text[pos];
    for (std::size_t i = pos + 1; i < text.size(); ++i) {
        if (text[i] == '\\') {
            ++i;
            continue;
        }
        if (text[i] == quote) return i + 1;
    }
    return std::string_view::npos;
}

// The index of the ']' closing the '[' at text[open], or npos.
std::size_t matching_bracket(std::string_view text, std::size_t open) {
    int depth = 0;
    for (std::size_t i = open; i < text.size();) {
        const char c = text[i];
        if (c == '\'' || c == '"') {
            i = skip_string(text, i);
            if (i == std::string_view::npos) return i;
            continue;
        }
        if (c == '[' || c == '(') ++depth;
        if (c == ']' || c == ')') {
            --depth;
            if (depth == 0) return c == ']' ? i : std::string_view::npos;
        }
        ++i;
    }
    return std::string_view::npos;
}

// Splits `text` at top-level occurrences of `separator` (outside strings,
// brackets and parentheses). Sets `has_other` if a top-level `other` occurs.
std::vector<std::string_view> split_top_level(std::string_view text,
                                              std::string_view separator,
                                              std::string_view other,
                                              bool& has_other,
                                              bool& has_root) {
    std::vector<std::string_view> parts;
    int depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == '\'' || c == '"') {
            const auto next = skip_string(text, i);
            if (next == std::string_view::npos) {
                has_other = true;
                return parts;
            }
            i = next;
            continue;
        }
        if (c == '$') has_root = true;
        if (c == '[' || c == '(') ++depth;
        if (c == ']' || c == ')') --depth;
        if (depth == 0 && text.substr(i).starts_with(separator)) {
            parts.push_back(text.substr(start, i - start));
            i += separator.size();
            start = i;
            continue;
        }
        if (depth == 0 && !other.empty() && text.substr(i).starts_with(other)) has_other = true;
        ++i;
    }
    parts.push_back(text.substr(start));
    return parts;
}

bool is_name_first(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_name_char(char c) {
    return is_name_first(c) || (c >= '0' && c <= '9');
}

// `@.name` at the start of `text`: the name, and `text` advanced past it.
std::optional<std::string> read_field(std::string_view& text) {
    if (!text.starts_with("@.") || text.size() < 3 || !is_name_first(text[2])) return std::nullopt;
    std::size_t end = 3;
    while (end < text.size() && is_name_char(text[end])) ++end;
    std::string name{text.substr(2, end - 2)};
    text.remove_prefix(end);
    return name;
}

std::optional<CompareOp> read_op(std::string_view& text) {
    struct Spelling {
        std::string_view text;
        CompareOp op;
    };
    static constexpr Spelling kOps[] = {{"==", CompareOp::eq},
                                        {"<=", CompareOp::le},
                                        {">=", CompareOp::ge},
                                        {"<", CompareOp::lt},
                                        {">", CompareOp::gt}};
    if (text.starts_with("!=")) return std::nullopt;
    for (const auto& spelling : kOps) {
        if (text.starts_with(spelling.text)) {
            text.remove_prefix(spelling.text.size());
            return spelling.op;
        }
    }
    return std::nullopt;
}

// A literal that makes up all of `text`: a number, a simple quoted string
// (no escapes), true, false or null.
std::optional<nlohmann::json> read_literal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    if (text == "true") return nlohmann::json(true);
    if (text == "false") return nlohmann::json(false);
    if (text == "null") return nlohmann::json(nullptr);
    if (text.front() == '\'' || text.front() == '"') {
        if (text.size() < 2 || text.back() != text.front()) return std::nullopt;
        const auto inner = text.substr(1, text.size() - 2);
        for (const char c : inner) {
            if (c == '\\' || c == '\'' || c == '"' || static_cast<unsigned char>(c) < 0x20)
                return std::nullopt;
        }
        return nlohmann::json(std::string{inner});
    }
    if (text.front() == '-' || (text.front() >= '0' && text.front() <= '9')) {
        auto parsed = nlohmann::json::parse(text, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_number()) return std::nullopt;
        return parsed;
    }
    return std::nullopt;
}

CompareOp turned_around(CompareOp op) {
    switch (op) {
        case CompareOp::lt:
            return CompareOp::gt;
        case CompareOp::le:
            return CompareOp::ge;
        case CompareOp::gt:
            return CompareOp::lt;
        case CompareOp::ge:
            return CompareOp::le;
        case CompareOp::eq:
        case CompareOp::ne:
            return op;
    }
    return op;
}

std::optional<IndexableComparison> read_comparison(std::string_view conjunct) {
    auto text = trim(conjunct);
    if (auto field = read_field(text)) {
        text = trim(text);
        auto op = read_op(text);
        if (!op) return std::nullopt;
        auto literal = read_literal(trim(text));
        if (!literal) return std::nullopt;
        return IndexableComparison{std::move(*field), *op, std::move(*literal)};
    }
    // literal OP @.field
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\'' || text[i] == '"') {
            i = skip_string(text, i);
            if (i == std::string_view::npos) return std::nullopt;
            --i;
            continue;
        }
        if (text[i] == '=' || text[i] == '<' || text[i] == '>' || text[i] == '!') {
            auto literal = read_literal(trim(text.substr(0, i)));
            if (!literal) return std::nullopt;
            auto rest = text.substr(i);
            auto op = read_op(rest);
            if (!op) return std::nullopt;
            rest = trim(rest);
            auto field = read_field(rest);
            if (!field || !trim(rest).empty()) return std::nullopt;
            return IndexableComparison{std::move(*field), turned_around(*op), std::move(*literal)};
        }
    }
    return std::nullopt;
}

}  // namespace

QueryPlan plan_query(std::string_view text) {
    QueryPlan plan;
    text = trim(text);
    if (!text.starts_with('$')) return plan;
    text.remove_prefix(1);
    text = trim(text);
    if (text.starts_with(".*")) {
        plan.is_member_ordered = true;
        return plan;
    }
    if (!text.starts_with('[')) return plan;
    const auto close = matching_bracket(text, 0);
    if (close == std::string_view::npos) return plan;
    const auto selector = trim(text.substr(1, close - 1));
    bool has_comma = false;
    bool has_root = false;
    split_top_level(selector, ",", {}, has_comma, has_root);
    const auto parts = split_top_level(selector, ",", {}, has_comma, has_root);
    if (parts.size() != 1) return plan;
    if (selector == "*") {
        plan.is_member_ordered = true;
        return plan;
    }
    if (!selector.starts_with('?')) return plan;
    plan.is_member_ordered = true;
    bool has_or = false;
    has_root = false;
    const auto conjuncts = split_top_level(selector.substr(1), "&&", "||", has_or, has_root);
    if (has_or || has_root) return plan;
    for (const auto& conjunct : conjuncts) {
        if (auto comparison = read_comparison(conjunct)) {
            plan.comparisons.push_back(std::move(*comparison));
        }
    }
    return plan;
}

}  // namespace nexu::repositories
