#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace nexu {

// What went wrong, in terms a caller can act on. `problem_for` in app/api maps
// each code to an HTTP problem; a new code must be added there too (-Wswitch).
enum class Errc {
    not_found,
    conflict,          // a compare-and-set lost, or the name exists
    invalid_argument,  // the input cannot be parsed or breaks a rule
    corrupt_object,    // stored bytes fail authentication or decoding
    io_error,
    unavailable,     // out of space, stale handle, queue full: retrying later can help
    limit_exceeded,  // a size, depth or work budget was exceeded
};

struct Error {
    Errc code;
    std::string context;  // ids, path, errno text: for the log, never for the client
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string context = {}) {
    return tl::make_unexpected(Error{code, std::move(context)});
}

const char* to_string(Errc code) noexcept;

}  // namespace nexu
