#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace nexu::domain::jsonpath {

// Compiled I-Regexps for match() and search() patterns that come from the
// document (`match(@.a, @.pattern)`), so a pattern repeated across documents
// is translated and compiled once per query. Thread-safe: one Query may be
// evaluated by several workers at once. Bounded: when full it starts over,
// which costs recompilation, never memory. Invalid patterns are cached too,
// as nullptr.
class RegexCache {
public:
    static constexpr std::size_t kCapacity = 64;

    // The pattern compiled for RE2 after I-Regexp translation, or nullptr when
    // it is not an I-Regexp or RE2 refuses it (e.g. a repeat count over 1000,
    // or a program over its memory budget): either way match/search are false.
    static std::shared_ptr<const re2::RE2> compile(std::string_view pattern);

    std::shared_ptr<const re2::RE2> get(std::string_view pattern) const;

private:
    mutable std::mutex mutex_;
    mutable std::map<std::string, std::shared_ptr<const re2::RE2>, std::less<>> entries_;
};

}  // namespace nexu::domain::jsonpath
