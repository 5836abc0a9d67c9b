#include "api/job_routes.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/problem.hpp"
#include "domain/timestamp.hpp"

namespace nexu::api {

namespace {

using Json = nlohmann::json;
using domain::access::Principal;

bool is_system_admin(const Principal& caller) {
    return caller.is_admin() ||
           (caller.is_authenticated() && caller.permissions.allows("system:admin"));
}

std::optional<Response> refuse_unless_system_admin(const Principal& caller) {
    if (!caller.is_authenticated()) return unauthorized();
    if (!is_system_admin(caller)) return forbidden("This needs the admin role or system:admin.");
    return std::nullopt;
}

Json time_or_null(const std::optional<std::chrono::system_clock::time_point>& when) {
    return when ? Json(domain::format_timestamp(*when)) : Json(nullptr);
}

Json job_json(const config::Scheduler::JobStatus& status) {
    Json job{{"name", status.name},
             {"schedule", status.schedule},
             {"next_run", time_or_null(status.next_run)},
             {"running", status.running},
             {"progress", status.progress.empty() ? Json(nullptr) : Json(status.progress)},
             {"last_start", nullptr},
             {"last_duration_s", nullptr},
             {"last_result", nullptr},
             {"last_summary", nullptr},
             {"last_instance", nullptr},
             {"last_trigger", nullptr},
             {"runs", 0}};
    if (const auto& record = status.record) {
        if (record->running && status.running) job["running_instance"] = record->running_instance;
        if (!record->last_result.empty()) {
            job["last_start"] = time_or_null(record->last_start);
            job["last_duration_s"] = record->last_duration_s;
            job["last_result"] = record->last_result;
            job["last_summary"] = record->last_summary;
            job["last_instance"] = record->last_instance;
            job["last_trigger"] = record->last_trigger;
        }
        job["runs"] = record->runs;
    }
    return job;
}

Response unavailable(std::string_view detail) {
    auto response =
        problem(http::status::service_unavailable, "unavailable", "Service Unavailable", detail);
    response.set(http::field::retry_after, "5");
    return response;
}

}  // namespace

void add_job_routes(Router& router,
                    config::Scheduler& scheduler,
                    repositories::SystemReport* report,
                    JobRoutesInfo info) {
    router.add(http::verb::get, "/api/v1/system/jobs", [&scheduler](const Request& request) {
        if (auto refused = refuse_unless_system_admin(request.principal))
            return std::move(*refused);
        auto jobs = scheduler.status();
        if (!jobs) {
            spdlog::warn("GET /api/v1/system/jobs: cannot read job records: {} request_id={}",
                         jobs.error(), request.request_id);
            return unavailable("The job records cannot be read right now.");
        }
        Json items = Json::array();
        for (const auto& status : *jobs) items.push_back(job_json(status));
        return json_response(http::status::ok, Json{{"items", std::move(items)}}.dump());
    });

    router.add(
        http::verb::post, "/api/v1/system/jobs/{name}/run", [&scheduler](const Request& request) {
            if (auto refused = refuse_unless_system_admin(request.principal))
                return std::move(*refused);
            const auto name = request.param("name");
            switch (scheduler.run_now(name)) {
                case config::Scheduler::RunRequest::started: {
                    auto response = json_response(
                        http::status::accepted,
                        Json{{"name", std::string{name}}, {"status", "started"}}.dump());
                    response.set(http::field::location, "/api/v1/system/jobs");
                    return response;
                }
                case config::Scheduler::RunRequest::unknown_job:
                    return problem(http::status::not_found, "not-found", "Not Found",
                                   "There is no job with this name.");
                case config::Scheduler::RunRequest::already_running:
                    return problem(http::status::conflict, "job-running", "Job Running",
                                   "This job is already running on this or another instance.");
                case config::Scheduler::RunRequest::unavailable:
                    break;
            }
            return unavailable("The job cannot be started right now.");
        });

    router.add(http::verb::get, "/api/v1/system/info", [report, info](const Request& request) {
        if (auto refused = refuse_unless_system_admin(request.principal))
            return std::move(*refused);
        const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::steady_clock::now() - info.started);
        Json body{{"version", info.version},
                  {"instance", info.instance_id},
                  {"uptime_s", uptime.count()},
                  {"collections", Json::array()},
                  {"integrity", nullptr}};
        if (report) {
            auto statistics = report->statistics();
            if (!statistics) return problem_for(statistics.error(), request.request_id);
            for (const auto& collection : *statistics) {
                Json entry{{"name", collection.name}, {"bytes", collection.bytes}};
                if (collection.error.empty()) {
                    entry["documents"] = collection.documents;
                    entry["generation"] = collection.seq;
                } else {
                    entry["error"] = collection.error;
                }
                body["collections"].push_back(std::move(entry));
            }
            auto integrity = report->last_integrity();
            if (!integrity) return problem_for(integrity.error(), request.request_id);
            body["integrity"] = std::move(*integrity);
        }
        return json_response(http::status::ok, body.dump());
    });
}

}  // namespace nexu::api
