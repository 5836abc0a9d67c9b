#pragma once

#include <functional>
#include <string_view>

#include "api/http_types.hpp"
#include "domain/error.hpp"
#include "domain/rate_limiter.hpp"
#include "domain/token_bucket.hpp"

namespace nexu::api {

// The rate limits of API.md. The auth and login-failure limits are shared by
// every instance when a shared decider is set (Redis, NEXU_REDIS_URL): they
// are what stop password guessing, and they are checked on worker threads,
// where a Redis round trip may block. If Redis cannot answer, the local
// buckets decide. The general API limit is checked on the io thread before
// the body is read, so it stays local to each instance: N instances behind a
// balancer admit up to N times the per-address API rate.
//
// - api: every /api/v1 request, per client address (100/1s, burst 200).
// - auth: register, login and refresh, per client address (50/10m).
// - login failures: per account name (10/15m). Only failures take tokens, and
//   an empty bucket refuses even the right password until it refills. One
//   address trying many accounts meets the auth limit long before any of
//   those accounts is locked, so stuffing does not lock users out.
class RateLimits {
public:
    struct Settings {
        domain::RateLimit api_per_address;
        domain::RateLimit auth_per_address;
        domain::RateLimit login_failures_per_account;
    };
    using Decision = domain::TokenBucket::Decision;

    // Decides on a bucket shared by every instance; an error means it could
    // not (Redis down), and the local bucket decides instead.
    using SharedDecider = std::function<Result<Decision>(
        std::string_view key, const domain::RateLimit& limit, bool peek)>;

    explicit RateLimits(const Settings& settings);
    // Set once at start, before requests arrive.
    void share_through(SharedDecider decider) { shared_ = std::move(decider); }

    Decision take_api(std::string_view address);
    Decision take_auth(std::string_view address);
    Decision peek_login_failures(std::string_view account);
    void record_login_failure(std::string_view account);

    const domain::RateLimit& api_limit() const { return api_.limit(); }
    const domain::RateLimit& auth_limit() const { return auth_.limit(); }
    const domain::RateLimit& login_limit() const { return login_failures_.limit(); }

private:
    Decision decide(domain::RateLimiter& local, std::string_view kind, std::string_view key, bool peek);

    SharedDecider shared_;
    domain::RateLimiter api_;
    domain::RateLimiter auth_;
    domain::RateLimiter login_failures_;
};

// RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds).
void set_rate_limit_headers(Response& response,
                            const domain::RateLimit& limit,
                            const RateLimits::Decision& decision);
// 429 problem with Retry-After and the RateLimit-* headers.
Response too_many_requests(const domain::RateLimit& limit, const RateLimits::Decision& decision);

}  // namespace nexu::api
