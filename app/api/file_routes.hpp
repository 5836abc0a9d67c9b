#pragma once

#include <cstddef>
#include <string_view>

#include "api/router.hpp"
#include "repositories/file_repository.hpp"

namespace nexu::api {

// A parsed `Range: bytes=` header against a file of `size` bytes.
struct ByteRange {
    enum class Kind {
        whole,          // no usable single range: answer 200 with everything
        partial,        // 206 with [first, last]
        unsatisfiable,  // 416 with Content-Range: bytes */size
    };
    Kind kind = Kind::whole;
    std::uint64_t first = 0;
    std::uint64_t last = 0;  // inclusive
};

// RFC 9110 §14: one range `a-b`, `a-` or `-n` is honoured (b clamped to the
// end); a header that does not parse, another unit, or several ranges get the
// whole file (200); a single range starting past the end, `-0`, or any range
// of an empty file is unsatisfiable.
ByteRange parse_byte_range(std::string_view header, std::uint64_t size);

// PUT/GET/HEAD/DELETE /api/v1/files/{path...} and GET /api/v1/files?prefix=
// (API.md "Files"). Uploads stream into a new blob (at most `max_file_bytes`),
// downloads stream out of it; both run on worker threads. `files` must
// outlive the router.
void add_file_routes(Router& router,
                     repositories::FileRepository& files,
                     std::size_t max_file_bytes);

}  // namespace nexu::api
