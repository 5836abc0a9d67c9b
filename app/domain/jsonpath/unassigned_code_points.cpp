#include "domain/jsonpath/unassigned_code_points.hpp"

#include <cstdio>

#include <re2/re2.h>

#include "domain/jsonpath/utf8.hpp"

namespace nexu::domain::jsonpath {

namespace {

void append_code_point(std::string& out, char32_t code_point) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "\\x{%X}", static_cast<unsigned>(code_point));
    out += buffer;
}

std::string compute_unassigned() {
    // Every scalar value in order, then RE2 finds the runs no assigned
    // category covers; offsets map back to code points through `starts`.
    std::string all;
    all.reserve(0x110000 * 4);
    for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        append_utf8(all, cp);
    }
    const RE2 unassigned_run{"([^\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{Z}\\p{Cc}\\p{Cf}\\p{Co}]+)",
                             RE2::Quiet};
    std::string body;
    re2::StringPiece rest{all};
    re2::StringPiece run;
    while (RE2::FindAndConsume(&rest, unassigned_run, &run)) {
        const auto first = decode_utf8(std::string_view{run.data(), run.size()}, 0);
        const std::string_view run_view{run.data(), run.size()};
        std::size_t last_at = run_view.size() - 1;
        while ((static_cast<unsigned char>(run_view[last_at]) & 0xC0) == 0x80) --last_at;
        const auto last = decode_utf8(run_view, last_at);
        append_code_point(body, first->code_point);
        if (last->code_point != first->code_point) {
            body.push_back('-');
            append_code_point(body, last->code_point);
        }
    }
    return body;
}

}  // namespace

const std::string& unassigned_class_body() {
    static const std::string body = compute_unassigned();
    return body;
}

}  // namespace nexu::domain::jsonpath
