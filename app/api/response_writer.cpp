#include "api/response_writer.hpp"

namespace nexu::api {

void serialize_response(const Response& response, std::string& out) {
    const auto reason = response.reason();
    const auto& body = response.body();
    out.reserve(out.size() + 256 + body.size());
    out += response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(response.result_int());
    out += ' ';
    if (reason.empty()) {
        const auto standard = http::obsolete_reason(response.result());
        out.append(standard.data(), standard.size());
    } else {
        out.append(reason.data(), reason.size());
    }
    out += "\r\n";
    for (const auto& field : response) {
        const auto name = field.name_string();
        const auto value = field.value();
        out.append(name.data(), name.size());
        out += ": ";
        out.append(value.data(), value.size());
        out += "\r\n";
    }
    out += "\r\n";
    out += body;
}

}  // namespace nexu::api
