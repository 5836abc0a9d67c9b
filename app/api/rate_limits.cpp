#include "api/rate_limits.hpp"

#include <algorithm>

#include "api/problem.hpp"
#include "config/metrics.hpp"

namespace nexu::api {

namespace {

std::string whole_seconds(std::chrono::milliseconds duration) {
    const auto seconds = (duration.count() + 999) / 1000;
    return std::to_string(std::max<std::int64_t>(seconds, 0));
}

}  // namespace

RateLimits::RateLimits(const Settings& settings)
    : api_(settings.api_per_address),
      auth_(settings.auth_per_address),
      login_failures_(settings.login_failures_per_account) {
    metrics::registry().describe("nexu_rate_limit_rejections_total",
                                 "Requests refused with 429, by limit.");
    metrics::registry().describe("nexu_rate_limit_shared_fallbacks_total",
                                 "Shared (Redis) rate-limit decisions that fell back to local buckets.");
}

RateLimits::Decision RateLimits::take_api(std::string_view address) {
    return api_.take(address, domain::TokenBucket::Clock::now());
}

RateLimits::Decision RateLimits::decide(domain::RateLimiter& local,
                                        std::string_view kind,
                                        std::string_view key,
                                        bool peek) {
    if (shared_) {
        std::string shared_key{kind};
        shared_key += key;
        auto decision = shared_(shared_key, local.limit(), peek);
        if (decision) return *decision;
        metrics::registry().counter("nexu_rate_limit_shared_fallbacks_total").add();
    }
    const auto now = domain::TokenBucket::Clock::now();
    return peek ? local.peek(key, now) : local.take(key, now);
}

RateLimits::Decision RateLimits::take_auth(std::string_view address) {
    return decide(auth_, "auth:", address, false);
}

RateLimits::Decision RateLimits::peek_login_failures(std::string_view account) {
    return decide(login_failures_, "login:", account, true);
}

void RateLimits::record_login_failure(std::string_view account) {
    decide(login_failures_, "login:", account, false);
}

void set_rate_limit_headers(Response& response,
                            const domain::RateLimit& limit,
                            const RateLimits::Decision& decision) {
    response.set("RateLimit-Limit", std::to_string(limit.burst != 0 ? limit.burst : limit.tokens));
    response.set("RateLimit-Remaining", std::to_string(decision.remaining));
    response.set("RateLimit-Reset", whole_seconds(decision.reset_after));
}

Response too_many_requests(const domain::RateLimit& limit, const RateLimits::Decision& decision) {
    metrics::registry().counter("nexu_rate_limit_rejections_total", {{"limit", limit.to_string()}}).add();
    auto response = problem(http::status::too_many_requests, "rate-limited", "Too Many Requests",
                            "Too many requests; retry after the time in Retry-After.");
    response.set(http::field::retry_after,
                 whole_seconds(std::max(decision.retry_after, std::chrono::milliseconds{1000})));
    set_rate_limit_headers(response, limit, decision);
    return response;
}

}  // namespace nexu::api
