#include "domain/jsonpath/regex_cache.hpp"

#include <re2/re2.h>

#include "domain/jsonpath/i_regexp.hpp"

namespace nexu::domain::jsonpath {

namespace {

// Enough for any sensible pattern (a \p{Cn} class included) while keeping a
// hostile one from taking more than a bounded share of a worker's memory.
constexpr std::int64_t kMaxRegexMemoryBytes = 2 << 20;

}  // namespace

std::shared_ptr<const re2::RE2> RegexCache::compile(std::string_view pattern) {
    const auto translated = IRegexpTranslator::translate(pattern);
    if (!translated) return nullptr;
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingUTF8);
    options.set_log_errors(false);
    options.set_never_capture(true);
    options.set_dot_nl(false);
    options.set_case_sensitive(true);
    options.set_max_mem(kMaxRegexMemoryBytes);
    auto compiled = std::make_shared<const re2::RE2>(*translated, options);
    if (!compiled->ok()) return nullptr;
    return compiled;
}

std::shared_ptr<const re2::RE2> RegexCache::get(std::string_view pattern) const {
    {
        const std::lock_guard lock{mutex_};
        if (const auto found = entries_.find(pattern); found != entries_.end()) {
            return found->second;
        }
    }
    auto compiled = compile(pattern);  // outside the lock: compiling can take a while
    const std::lock_guard lock{mutex_};
    if (entries_.size() >= kCapacity) entries_.clear();
    entries_.emplace(std::string{pattern}, compiled);
    return compiled;
}

}  // namespace nexu::domain::jsonpath
