#include "api/auth_routes.hpp"

#include <algorithm>

#include "api/account_json.hpp"
#include "api/json_request.hpp"
#include "api/problem.hpp"

namespace nexu::api {

namespace {

using repositories::AccountService;
using repositories::TokenPair;

Response invalid_credentials() {
    return problem(http::status::unauthorized, "invalid-credentials", "Invalid Credentials",
                   "The username, e-mail address or password is not correct.");
}

Response hashing_busy() {
    auto response = problem(http::status::service_unavailable, "busy", "Service Busy",
                            "Too many sign-ins are waiting; retry shortly.");
    response.set(http::field::retry_after, "1");
    return response;
}

Response token_response(const TokenPair& pair) {
    return json_ok(http::status::ok, {{"access_token", pair.access_token},
                                      {"token_type", "Bearer"},
                                      {"expires_in", pair.expires_in},
                                      {"refresh_token", pair.refresh_token},
                                      {"user", domain::to_public_json(pair.user)}});
}

std::string lowered(std::string_view text) {
    std::string out{text};
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return out;
}

// Answers through `respond` with the auth limit's headers on every response.
Respond with_auth_rate(RateLimits& limits, RateLimits::Decision decision, Respond respond) {
    return [&limits, decision, respond = std::move(respond)](Response response) {
        if (response.result() != http::status::too_many_requests) {
            set_rate_limit_headers(response, limits.auth_limit(), decision);
        }
        respond(std::move(response));
    };
}

// The JSON object body of a form, or the response refusing it.
tl::expected<nlohmann::json, Response> read_form(const Request& request) {
    auto body = read_json_body(request);
    if (!body) return body;
    if (!body->is_object()) {
        return tl::make_unexpected(problem(http::status::unprocessable_entity, "validation",
                                           "Validation Failed", "The body must be a JSON object."));
    }
    return body;
}

void handle_register(const Request& request,
                     Respond respond,
                     AccountService& accounts,
                     const domain::PasswordPolicy& policy,
                     AuthRoutesSettings settings) {
    if (!settings.registration_open) {
        return respond(forbidden("Registration is closed; an administrator creates accounts."));
    }
    auto body = read_form(request);
    if (!body) return respond(std::move(body.error()));
    FieldReader fields{*body};
    AccountService::NewUser user;
    auto username = fields.text("username");
    auto password = fields.text("password");
    auto email = fields.text("email", false);
    auto display_name = fields.text("display_name", false);
    if (username) {
        if (auto why = domain::username_problem(*username)) fields.add_error("username", *why);
    }
    if (password) {
        if (auto why = policy.problem(*password, username.value_or(""))) fields.add_error("password", *why);
    }
    if (email && !email->empty()) {
        if (auto why = domain::email_problem(*email)) fields.add_error("email", *why);
    }
    if (display_name) {
        if (auto why = domain::display_name_problem(*display_name)) fields.add_error("display_name", *why);
    }
    if (fields.has_errors()) return respond(fields.problem_response(http::status::unprocessable_entity));
    user.username = std::move(*username);
    user.password = std::move(*password);
    user.email = email.value_or("");
    user.display_name = display_name.value_or("");
    const auto request_id = std::string{request.request_id};
    accounts.register_user(std::move(user), [respond, request_id](Result<domain::User> created) {
        if (created) {
            auto response = json_ok(http::status::created, domain::to_public_json(*created));
            response.set(http::field::location, "/api/v1/users/" + created->id);
            return respond(std::move(response));
        }
        if (created.error().code == Errc::conflict) {
            const auto field = created.error().context == "email" ? "email" : "username";
            return respond(problem(http::status::conflict, "taken", "Already Taken",
                                   std::string{"This "} + (field == std::string_view{"email"} ? "e-mail address" : "username") +
                                       " is already registered.",
                                   {{field, "is already taken"}}));
        }
        if (created.error().code == Errc::unavailable) return respond(hashing_busy());
        respond(problem_for(created.error(), request_id));
    });
}

void handle_login(const Request& request, Respond respond, AccountService& accounts, RateLimits& limits) {
    auto body = read_form(request);
    if (!body) return respond(std::move(body.error()));
    FieldReader fields{*body};
    auto username = fields.text("username", false);
    auto email = fields.text("email", false);
    auto password = fields.text("password");
    if (!username && !email) fields.add_error("username", "username or email is required");
    if (fields.has_errors()) return respond(fields.problem_response(http::status::bad_request));

    auto identifier = username ? std::move(*username) : std::move(*email);
    auto account = lowered(identifier);
    // An account that failed too often is refused even with the right password.
    const auto lockout = limits.peek_login_failures(account);
    if (!lockout.allowed) return respond(too_many_requests(limits.login_limit(), lockout));

    const auto request_id = std::string{request.request_id};
    accounts.login(std::move(identifier), std::move(*password),
                   [respond, &limits, account = std::move(account), request_id](Result<TokenPair> pair) {
                       if (pair) return respond(token_response(*pair));
                       switch (pair.error().code) {
                           case Errc::not_found:
                               limits.record_login_failure(account);
                               return respond(invalid_credentials());
                           case Errc::unavailable:
                               return respond(hashing_busy());
                           default:
                               return respond(problem_for(pair.error(), request_id));
                       }
                   });
}

Response handle_refresh(const Request& request, AccountService& accounts) {
    auto body = read_form(request);
    if (!body) return std::move(body.error());
    FieldReader fields{*body};
    auto token = fields.text("refresh_token");
    if (fields.has_errors()) return fields.problem_response(http::status::bad_request);
    auto pair = accounts.refresh(*token);
    if (pair) return token_response(*pair);
    if (pair.error().code == Errc::not_found || pair.error().code == Errc::conflict) {
        return unauthorized();
    }
    return problem_for(pair.error(), request.request_id);
}

Response handle_logout(const Request& request, AccountService& accounts) {
    if (!request.principal.is_authenticated()) return unauthorized();
    std::string refresh_token;
    if (!request.message.body().empty()) {
        auto body = read_form(request);
        if (!body) return std::move(body.error());
        FieldReader fields{*body};
        refresh_token = fields.text("refresh_token", false).value_or("");
        if (fields.has_errors()) return fields.problem_response(http::status::bad_request);
    }
    auto ended = accounts.logout(request.principal, refresh_token);
    if (!ended && ended.error().code != Errc::not_found) return problem_for(ended.error(), request.request_id);
    return Response{http::status::no_content, 11};
}

Response handle_me(const Request& request, AccountService& accounts) {
    if (!request.principal.is_authenticated()) return unauthorized();
    auto user = accounts.find_user(request.principal.user_id);
    if (!user) {
        if (user.error().code == Errc::not_found) return unauthorized();
        return problem_for(user.error(), request.request_id);
    }
    return json_ok(http::status::ok, domain::to_public_json(*user));
}

Response handle_ws_ticket(const Request& request, AccountService& accounts) {
    if (!request.principal.is_authenticated()) return unauthorized();
    auto ticket = accounts.issue_ws_ticket(request.principal);
    if (!ticket) return problem_for(ticket.error(), request.request_id);
    return json_ok(http::status::ok,
                   {{"ticket", *ticket}, {"expires_in", accounts.settings().ws_ticket_lifetime.count()}});
}

void handle_password(const Request& request,
                     Respond respond,
                     AccountService& accounts,
                     const domain::PasswordPolicy& policy) {
    if (!request.principal.is_authenticated()) return respond(unauthorized());
    auto body = read_form(request);
    if (!body) return respond(std::move(body.error()));
    FieldReader fields{*body};
    auto current = fields.text("current_password");
    auto replacement = fields.text("new_password");
    if (fields.has_errors()) return respond(fields.problem_response(http::status::unprocessable_entity));
    if (auto why = policy.problem(*replacement, request.principal.username)) {
        fields.add_error("new_password", *why);
        return respond(fields.problem_response(http::status::unprocessable_entity));
    }
    const auto request_id = std::string{request.request_id};
    accounts.change_password(request.principal, std::move(*current), std::move(*replacement),
                             [respond, request_id](Result<void> changed) {
                                 if (changed) return respond(Response{http::status::no_content, 11});
                                 switch (changed.error().code) {
                                     case Errc::invalid_argument:
                                         return respond(forbidden("The current password is not correct."));
                                     case Errc::unavailable:
                                         return respond(hashing_busy());
                                     default:
                                         return respond(problem_for(changed.error(), request_id));
                                 }
                             });
}

}  // namespace

void add_auth_routes(Router& router,
                     AccountService& accounts,
                     RateLimits& limits,
                     const domain::PasswordPolicy& policy,
                     AuthRoutesSettings settings) {
    // Register, login and refresh count against the per-address auth limit first.
    const auto limited = [&limits](auto handler) {
        return [&limits, handler](const Request& request, Respond respond) {
            const auto decision = limits.take_auth(request.client_address);
            if (!decision.allowed) return respond(too_many_requests(limits.auth_limit(), decision));
            handler(request, with_auth_rate(limits, decision, std::move(respond)));
        };
    };
    router.add_deferred(
        http::verb::post, "/api/v1/auth/register",
        limited([&accounts, &policy, settings](const Request& request, Respond respond) {
            handle_register(request, std::move(respond), accounts, policy, settings);
        }),
        Dispatch::worker, 0, Credentials::ignored);
    // A worker: the user lookup before the hash reads the store.
    router.add_deferred(http::verb::post, "/api/v1/auth/login",
                        limited([&accounts, &limits](const Request& request, Respond respond) {
                            handle_login(request, std::move(respond), accounts, limits);
                        }),
                        Dispatch::worker, 0, Credentials::ignored);
    router.add_deferred(http::verb::post, "/api/v1/auth/refresh",
                        limited([&accounts](const Request& request, Respond respond) {
                            respond(handle_refresh(request, accounts));
                        }),
                        Dispatch::worker, 0, Credentials::ignored);
    router.add(http::verb::post, "/api/v1/auth/logout",
               [&accounts](const Request& request) { return handle_logout(request, accounts); });
    router.add(http::verb::get, "/api/v1/auth/me",
               [&accounts](const Request& request) { return handle_me(request, accounts); });
    router.add(http::verb::post, "/api/v1/auth/ws-ticket",
               [&accounts](const Request& request) { return handle_ws_ticket(request, accounts); });
    router.add_deferred(
        http::verb::post, "/api/v1/auth/password",
        [&accounts, &policy](const Request& request, Respond respond) {
            handle_password(request, std::move(respond), accounts, policy);
        },
        Dispatch::worker);
}

}  // namespace nexu::api
