#include "domain/jsonpath/normalized_path.hpp"

namespace nexu::domain::jsonpath {

void append_name_selector(std::string& out, std::string_view name) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "['";
    for (const char c : name) {
        switch (c) {
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\'':
                out += "\\'";
                break;
            case '\\':
                out += "\\\\";
                break;
            default: {
                const auto byte = static_cast<unsigned char>(c);
                if (byte < 0x20) {
                    out += "\\u00";
                    out.push_back(kHex[byte >> 4]);
                    out.push_back(kHex[byte & 0x0F]);
                } else {
                    out.push_back(c);
                }
            }
        }
    }
    out += "']";
}

void NormalizedPath::append_to(std::string& out) const {
    out.push_back('$');
    for (const auto& element : elements_) {
        if (element.is_index) {
            out.push_back('[');
            out += std::to_string(element.index);
            out.push_back(']');
        } else {
            append_name_selector(out, element.name);
        }
    }
}

std::string NormalizedPath::to_string() const {
    std::string out;
    append_to(out);
    return out;
}

}  // namespace nexu::domain::jsonpath
