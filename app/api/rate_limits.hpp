#pragma once

#include <string_view>

#include "api/http_types.hpp"
#include "domain/rate_limiter.hpp"
#include "domain/token_bucket.hpp"

namespace nexu::api {

// The rate limits of API.md, kept in this process: each instance counts its
// own requests (so N instances behind a balancer allow up to N times the
// per-address API limit; the account and auth limits are what stop password
// guessing, and a guesser spread over instances still meets each one's).
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

    explicit RateLimits(const Settings& settings);

    Decision take_api(std::string_view address);
    Decision take_auth(std::string_view address);
    Decision peek_login_failures(std::string_view account);
    void record_login_failure(std::string_view account);

    const domain::RateLimit& api_limit() const { return api_.limit(); }
    const domain::RateLimit& auth_limit() const { return auth_.limit(); }
    const domain::RateLimit& login_limit() const { return login_failures_.limit(); }

private:
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
