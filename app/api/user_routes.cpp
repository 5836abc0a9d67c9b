#include "api/user_routes.hpp"

#include "api/account_json.hpp"
#include "api/data_http.hpp"
#include "api/json_request.hpp"
#include "api/problem.hpp"
#include "domain/timestamp.hpp"

namespace nexu::api {

namespace {

using domain::access::Principal;

constexpr std::size_t kDefaultPageSize = 50;
constexpr std::size_t kMaxPageSize = 1000;

bool is_user_admin(const Principal& caller) {
    return caller.is_admin() || (caller.is_authenticated() && caller.permissions.allows("users:admin"));
}

// The admin gate: 401 for anonymous callers, 403 for users without the right.
std::optional<Response> refuse_unless_admin(const Principal& caller) {
    if (!caller.is_authenticated()) return unauthorized();
    if (!is_user_admin(caller)) return forbidden("This needs the admin role or users:admin.");
    return std::nullopt;
}

Response list_users(const Request& request, repositories::UserRepository& users) {
    if (auto refused = refuse_unless_admin(request.principal)) return std::move(*refused);
    const auto limit = page_limit(request, kDefaultPageSize, kMaxPageSize);
    if (!limit) return bad_parameter("limit", "limit is a whole number from 1 to 1000.");
    std::string cursor;
    query_param(request.message.target(), "cursor", cursor);
    auto page = users.list(cursor, *limit);
    if (!page) {
        if (page.error().code == Errc::invalid_argument) {
            return problem(http::status::bad_request, "bad-cursor", "Bad Cursor",
                           "cursor is not one this server issued.", {{"cursor", "is not valid"}});
        }
        return problem_for(page.error(), request.request_id);
    }
    nlohmann::json items = nlohmann::json::array();
    for (const auto& user : page->items) items.push_back(domain::to_public_json(user));
    return json_ok(http::status::ok,
                   {{"items", std::move(items)},
                    {"next_cursor", page->next_cursor.empty() ? nlohmann::json(nullptr)
                                                              : nlohmann::json(page->next_cursor)}});
}

// The user a caller may see: admins any, others only themselves (404 otherwise).
Result<domain::User> visible_user(const Request& request, repositories::AccountService& accounts) {
    const auto id = request.param("id");
    if (!is_user_admin(request.principal) && id != request.principal.user_id) {
        return fail(Errc::not_found, "not visible");
    }
    return accounts.find_user(id);
}

Response get_user(const Request& request, repositories::AccountService& accounts) {
    if (!request.principal.is_authenticated()) return unauthorized();
    auto user = visible_user(request, accounts);
    if (!user) return problem_for(user.error(), request.request_id);
    return json_ok(http::status::ok, domain::to_public_json(*user));
}

Response patch_user(const Request& request,
                    repositories::AccountService& accounts,
                    repositories::RoleRepository& roles) {
    if (!request.principal.is_authenticated()) return unauthorized();
    auto body = read_json_body(request, "application/merge-patch+json");
    if (!body) return std::move(body.error());
    if (!body->is_object()) {
        return problem(http::status::unprocessable_entity, "validation", "Validation Failed",
                       "The body must be a JSON object.");
    }
    const bool is_admin = is_user_admin(request.principal);
    // Someone else's record is invisible (404) before any field is judged.
    if (!is_admin && request.param("id") != request.principal.user_id) {
        return problem_for(Error{Errc::not_found, "not visible"}, request.request_id);
    }
    for (const auto& [name, value] : body->items()) {
        if (name == "roles" || name == "disabled") {
            if (!is_admin) return forbidden("Only an admin can change roles or disable an account.");
        } else if (name != "display_name" && name != "email") {
            return problem(http::status::bad_request, "bad-field", "Bad Field",
                           "Only display_name, email, roles and disabled can be changed.",
                           {{name, "cannot be changed"}});
        }
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto user = visible_user(request, accounts);
        if (!user) return problem_for(user.error(), request.request_id);
        FieldReader fields{*body};
        if (body->contains("display_name")) {
            user->display_name = fields.text("display_name", false).value_or("");
            if (auto why = domain::display_name_problem(user->display_name)) fields.add_error("display_name", *why);
        }
        if (body->contains("email")) {
            user->email = fields.text("email", false).value_or("");
            if (!user->email.empty()) {
                if (auto why = domain::email_problem(user->email)) fields.add_error("email", *why);
            }
        }
        if (const auto it = body->find("disabled"); it != body->end()) {
            if (it->is_boolean()) {
                user->disabled = it->get<bool>();
            } else {
                fields.add_error("disabled", "must be true or false");
            }
        }
        if (const auto it = body->find("roles"); it != body->end()) {
            user->roles.clear();
            if (!it->is_array()) fields.add_error("roles", "must be a list of role names");
            for (const auto& role : it->is_array() ? *it : nlohmann::json::array()) {
                if (!role.is_string() || !roles.find(role.get<std::string>())) {
                    fields.add_error("roles", "names a role that does not exist");
                    break;
                }
                user->roles.push_back(role.get<std::string>());
            }
        }
        if (fields.has_errors()) return fields.problem_response(http::status::unprocessable_entity);
        user->updated_at = domain::format_timestamp(std::chrono::system_clock::now());
        auto written = accounts.update_user(std::move(*user));
        if (written) return json_ok(http::status::ok, domain::to_public_json(*written));
        if (written.error().code == Errc::conflict && written.error().context == "email") {
            return problem(http::status::conflict, "taken", "Already Taken",
                           "This e-mail address is already registered.", {{"email", "is already taken"}});
        }
        if (written.error().code != Errc::conflict) return problem_for(written.error(), request.request_id);
        // Changed meanwhile by another request: apply the patch to the new revision.
    }
    return problem_for(Error{Errc::unavailable, "user changed concurrently"}, request.request_id);
}

Response delete_user(const Request& request, repositories::AccountService& accounts) {
    if (auto refused = refuse_unless_admin(request.principal)) return std::move(*refused);
    auto removed = accounts.delete_user(request.param("id"));
    if (!removed) return problem_for(removed.error(), request.request_id);
    return Response{http::status::no_content, 11};
}

nlohmann::json role_json(const repositories::Role& role) {
    return {{"name", role.name}, {"permissions", role.permissions}, {"builtin", role.is_builtin}};
}

Response list_roles(const Request& request, repositories::RoleRepository& roles) {
    if (auto refused = refuse_unless_admin(request.principal)) return std::move(*refused);
    auto all = roles.list();
    if (!all) return problem_for(all.error(), request.request_id);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& role : *all) items.push_back(role_json(role));
    return json_ok(http::status::ok, items);
}

Response put_role(const Request& request, repositories::RoleRepository& roles) {
    if (auto refused = refuse_unless_admin(request.principal)) return std::move(*refused);
    const auto name = request.param("name");
    if (!domain::is_valid_role_name(name)) {
        return problem(http::status::bad_request, "bad-path", "Bad Path",
                       "A role name is 1 to 64 of a-z, 0-9, _ . -");
    }
    auto body = read_json_body(request);
    if (!body) return std::move(body.error());
    const auto permissions = body->is_object() ? body->find("permissions") : body->end();
    if (!body->is_object() || permissions == body->end() || !permissions->is_array() ||
        !std::all_of(permissions->begin(), permissions->end(), [](const auto& p) { return p.is_string(); })) {
        return problem(http::status::unprocessable_entity, "validation", "Validation Failed",
                       "The body must be {\"permissions\": [strings]}.",
                       {{"permissions", "must be a list of permission strings"}});
    }
    auto created = roles.put(name, permissions->get<std::vector<std::string>>());
    if (!created) {
        if (created.error().code == Errc::invalid_argument) {
            return problem(http::status::unprocessable_entity, "validation", "Validation Failed",
                           created.error().context, {{"permissions", created.error().context}});
        }
        if (created.error().code == Errc::conflict) {
            return problem(http::status::conflict, "builtin-role", "Built-in Role", created.error().context);
        }
        return problem_for(created.error(), request.request_id);
    }
    auto role = roles.find(name);
    if (!role) return problem_for(role.error(), request.request_id);
    auto response = json_ok(*created ? http::status::created : http::status::ok, role_json(*role));
    if (*created) response.set(http::field::location, "/api/v1/roles/" + std::string{name});
    return response;
}

Response delete_role(const Request& request,
                     repositories::RoleRepository& roles,
                     repositories::UserRepository& users) {
    if (auto refused = refuse_unless_admin(request.principal)) return std::move(*refused);
    const auto name = request.param("name");
    if (name == "admin" || name == "user") {
        return problem(http::status::conflict, "builtin-role", "Built-in Role",
                       "Built-in roles cannot be deleted.");
    }
    auto held = users.any_holds_role(name);
    if (!held) return problem_for(held.error(), request.request_id);
    if (*held) {
        return problem(http::status::conflict, "role-in-use", "Role In Use",
                       "Users still hold this role; take it from them first.");
    }
    auto removed = roles.remove(name);
    if (!removed) return problem_for(removed.error(), request.request_id);
    return Response{http::status::no_content, 11};
}

}  // namespace

void add_user_routes(Router& router,
                     repositories::AccountService& accounts,
                     repositories::UserRepository& users,
                     repositories::RoleRepository& roles) {
    router.add(http::verb::get, "/api/v1/users",
               [&users](const Request& request) { return list_users(request, users); });
    router.add(http::verb::get, "/api/v1/users/{id}",
               [&accounts](const Request& request) { return get_user(request, accounts); });
    router.add(http::verb::patch, "/api/v1/users/{id}", [&accounts, &roles](const Request& request) {
        return patch_user(request, accounts, roles);
    });
    router.add(http::verb::delete_, "/api/v1/users/{id}",
               [&accounts](const Request& request) { return delete_user(request, accounts); });
    router.add(http::verb::get, "/api/v1/roles",
               [&roles](const Request& request) { return list_roles(request, roles); });
    router.add(http::verb::put, "/api/v1/roles/{name}",
               [&roles](const Request& request) { return put_role(request, roles); });
    router.add(http::verb::delete_, "/api/v1/roles/{name}", [&roles, &users](const Request& request) {
        return delete_role(request, roles, users);
    });
}

}  // namespace nexu::api
