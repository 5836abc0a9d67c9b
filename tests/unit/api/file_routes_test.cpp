#include "api/file_routes.hpp"

#include <catch2/catch.hpp>

using namespace nexu::api;

namespace {

void check_range(std::string_view header,
                 std::uint64_t size,
                 ByteRange::Kind kind,
                 std::uint64_t first = 0,
                 std::uint64_t last = 0) {
    INFO("Range: " << header << " size " << size);
    const auto range = parse_byte_range(header, size);
    CHECK(range.kind == kind);
    if (kind == ByteRange::Kind::partial) {
        CHECK(range.first == first);
        CHECK(range.last == last);
    }
}

}  // namespace

TEST_CASE("single byte ranges map to inclusive offsets, clamped to the file", "[file_routes]") {
    using K = ByteRange::Kind;
    check_range("bytes=0-0", 100, K::partial, 0, 0);        // first byte
    check_range("bytes=99-99", 100, K::partial, 99, 99);    // last byte
    check_range("bytes=0-99", 100, K::partial, 0, 99);      // whole file as a range
    check_range("bytes=10-", 100, K::partial, 10, 99);      // open end
    check_range("bytes=50-1000", 100, K::partial, 50, 99);  // end clamped
    check_range("bytes=-1", 100, K::partial, 99, 99);       // suffix
    check_range("bytes=-30", 100, K::partial, 70, 99);
    check_range("bytes=-500", 100, K::partial, 0, 99);  // suffix longer than the file
    check_range("BYTES = 5-6", 100, K::whole);          // not the syntax: ignored
    check_range("Bytes=5-6", 100, K::partial, 5, 6);
    check_range(" bytes=5 - 6 ", 100, K::partial, 5, 6);
}

TEST_CASE("unsatisfiable ranges are told apart from ones to ignore", "[file_routes]") {
    using K = ByteRange::Kind;
    check_range("bytes=100-", 100, K::unsatisfiable);  // starts at the end
    check_range("bytes=500-600", 100, K::unsatisfiable);
    check_range("bytes=-0", 100, K::unsatisfiable);
    check_range("bytes=0-", 0, K::unsatisfiable);  // nothing to give from an empty file
    check_range("bytes=-5", 0, K::unsatisfiable);
    check_range("", 100, K::whole);
    check_range("items=0-5", 100, K::whole);
    check_range("bytes=5-2", 100, K::whole);  // invalid: ignored per RFC 9110
    check_range("bytes=a-b", 100, K::whole);
    check_range("bytes=-", 100, K::whole);
    check_range("bytes=5", 100, K::whole);
    check_range("bytes=0-1,5-6", 100, K::whole);  // several ranges: the whole file
    check_range("bytes=99999999999999999999999-", 100, K::whole);
}
