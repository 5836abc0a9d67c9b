#pragma once

#include "api/rate_limits.hpp"
#include "api/router.hpp"
#include "domain/password_policy.hpp"
#include "repositories/account_service.hpp"

namespace nexu::api {

struct AuthRoutesSettings {
    bool registration_open = true;
};

// POST /api/v1/auth/register, login, refresh, logout, ws-ticket, password and
// GET /api/v1/auth/me. Validation and rate limits here; the account rules in
// AccountService. Password work is deferred to the hashing pool, so no
// handler holds a worker while Argon2 runs.
void add_auth_routes(Router& router,
                     repositories::AccountService& accounts,
                     RateLimits& rate_limits,
                     const domain::PasswordPolicy& policy,
                     AuthRoutesSettings settings);

}  // namespace nexu::api
