#include "api/collection_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/data_http.hpp"
#include "api/json_request.hpp"
#include "api/problem.hpp"

namespace nexu::api {

namespace {

using Json = nlohmann::json;
using domain::access::AccessRule;
using domain::access::Action;
using domain::access::CollectionRules;
using repositories::CollectionInfo;

Json rules_json(const CollectionRules& rules) {
    return Json{{"read", rules.read.to_string()}, {"write", rules.write.to_string()}};
}

Json collection_json(const CollectionInfo& info) {
    return Json{{"name", info.name}, {"rules", rules_json(info.rules)}, {"indexes", info.indexes}};
}

Response unprocessable(std::string_view field, std::string_view message) {
    return problem(http::status::unprocessable_entity, "validation-failed", "Validation Failed",
                   message, {FieldError{std::string{field}, std::string{message}}});
}

Response bad_name() {
    return bad_parameter("c", "A collection name matches [a-z][a-z0-9_-]{0,63}.");
}

// Admin only: 401 without a user, 403 for a user who is not an admin.
std::optional<Response> refuse_non_admin(const Request& request) {
    if (!request.principal.is_authenticated()) return unauthorized();
    if (!request.principal.is_admin()) return forbidden("Only administrators manage collections.");
    return std::nullopt;
}

Response list_collections(const Request& request,
                          repositories::CollectionRepository& collections,
                          repositories::DocumentService& documents) {
    auto all = collections.list();
    if (!all) return problem_for(all.error(), request.request_id);
    Json out = Json::array();
    for (const auto& info : *all) {
        const auto& caller = request.principal;
        const bool may_read =
            domain::access::collection_access(caller, info.name, info.rules, Action::read).allowed;
        const bool may_write =
            domain::access::collection_access(caller, info.name, info.rules, Action::write).allowed;
        if (!may_read && !may_write) continue;
        auto count = documents.count_readable(caller, info);
        if (!count) return data_failure_response(count.error(), request.request_id);
        auto item = collection_json(info);
        item["documents"] = *count;
        out.push_back(std::move(item));
    }
    return json_response(http::status::ok, out.dump());
}

Response put_collection(const Request& request,
                        repositories::CollectionRepository& collections,
                        repositories::FieldIndexes* indexes) {
    const auto name = request.param("c");
    if (!domain::access::is_valid_collection_name(name)) return bad_name();
    if (auto refused = refuse_non_admin(request)) return std::move(*refused);
    auto body = read_json_body(request);
    if (!body) return std::move(body.error());
    if (!body->is_object()) return unprocessable("", "The body must be a JSON object.");
    auto rules = repositories::CollectionRepository::default_rules();
    std::vector<std::string> fields;
    for (const auto& [key, value] : body->items()) {
        if (key == "rules") {
            if (!value.is_object()) return unprocessable("rules", "rules must be an object.");
            for (const auto& [action, rule] : value.items()) {
                if (action != "read" && action != "write") {
                    return unprocessable("rules." + action, "Only read and write rules exist.");
                }
                if (!rule.is_string()) {
                    return unprocessable("rules." + action, "A rule is a string.");
                }
                auto parsed = AccessRule::parse(rule.get<std::string>());
                if (!parsed) return unprocessable("rules." + action, parsed.error().context);
                (action == "read" ? rules.read : rules.write) = std::move(*parsed);
            }
        } else if (key == "indexes") {
            if (!value.is_array() || value.size() > 16) {
                return unprocessable("indexes", "indexes is a list of at most 16 field names.");
            }
            for (const auto& field : value) {
                if (!field.is_string() || !repositories::CollectionRepository::is_valid_index_field(
                                              field.get<std::string>())) {
                    return unprocessable(
                        "indexes", "An index names a top-level field: [A-Za-z][A-Za-z0-9_]{0,63}.");
                }
                fields.push_back(field.get<std::string>());
            }
        } else {
            return unprocessable(key, "Unknown member; a collection has rules and indexes.");
        }
    }
    auto saved = collections.save(name, rules, std::move(fields));
    if (!saved) return problem_for(saved.error(), request.request_id);
    if (indexes != nullptr && saved->is_created) indexes->drop(name);
    auto out = collection_json(saved->info);
    return json_response(saved->is_created ? http::status::created : http::status::ok, out.dump());
}

Response delete_collection(const Request& request,
                           repositories::CollectionRepository& collections,
                           repositories::FieldIndexes* indexes) {
    const auto name = request.param("c");
    if (!domain::access::is_valid_collection_name(name)) return bad_name();
    if (auto refused = refuse_non_admin(request)) return std::move(*refused);
    auto removed = collections.remove(name);
    if (!removed) {
        if (removed.error().code == Errc::not_found) {
            return problem(http::status::not_found, "not-found", "Not Found",
                           "No such collection.");
        }
        return problem_for(removed.error(), request.request_id);
    }
    if (indexes != nullptr) indexes->drop(name);
    Response response{http::status::no_content, 11};
    return response;
}

}  // namespace

void add_collection_routes(Router& router,
                           repositories::CollectionRepository& collections,
                           repositories::DocumentService& documents,
                           repositories::FieldIndexes* indexes) {
    router.add(http::verb::get, "/api/v1/collections", [&](const Request& request) {
        return list_collections(request, collections, documents);
    });
    router.add(http::verb::put, "/api/v1/collections/{c}", [&, indexes](const Request& request) {
        return put_collection(request, collections, indexes);
    });
    router.add(http::verb::delete_, "/api/v1/collections/{c}",
               [&, indexes](const Request& request) {
                   return delete_collection(request, collections, indexes);
               });
}

}  // namespace nexu::api
