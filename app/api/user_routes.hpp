#pragma once

#include "api/router.hpp"
#include "repositories/account_service.hpp"
#include "repositories/role_repository.hpp"
#include "repositories/user_repository.hpp"

namespace nexu::api {

// /api/v1/users (admin, or self for one's own record) and /api/v1/roles
// (admin). "Admin" is the admin role or the users:admin permission. A user
// asking for another user's record gets 404, so ids do not leak.
void add_user_routes(Router& router,
                     repositories::AccountService& accounts,
                     repositories::UserRepository& users,
                     repositories::RoleRepository& roles);

}  // namespace nexu::api
