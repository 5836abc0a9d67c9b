#include "domain/error.hpp"

namespace nexu {

const char* to_string(Errc code) noexcept {
    switch (code) {
        case Errc::not_found:
            return "not_found";
        case Errc::conflict:
            return "conflict";
        case Errc::invalid_argument:
            return "invalid_argument";
        case Errc::corrupt_object:
            return "corrupt_object";
        case Errc::io_error:
            return "io_error";
        case Errc::unavailable:
            return "unavailable";
        case Errc::limit_exceeded:
            return "limit_exceeded";
    }
    return "unknown";
}

}  // namespace nexu
