#include "api/request_id.hpp"

#include <random>

namespace nexu::api {

namespace {

bool is_sane(std::string_view value) {
    if (value.empty() || value.size() > 128) return false;
    for (const char c : value) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

std::string request_id_for(std::string_view client_value) {
    if (is_sane(client_value)) return std::string{client_value};
    // Ids only correlate log lines; they need to be unique, not unguessable.
    thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    auto bits = generator();
    std::string id(16, '0');
    for (auto& c : id) {
        c = kHex[bits & 0xf];
        bits >>= 4;
    }
    return id;
}

}  // namespace nexu::api
