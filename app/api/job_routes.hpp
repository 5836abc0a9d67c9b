#pragma once

#include <chrono>
#include <string>

#include "api/router.hpp"
#include "config/scheduler.hpp"
#include "repositories/system_report.hpp"

namespace nexu::api {

struct JobRoutesInfo {
    std::string version;
    std::string instance_id;
    std::chrono::steady_clock::time_point started;
};

// GET /api/v1/system/jobs, POST /api/v1/system/jobs/{name}/run and
// GET /api/v1/system/info, for admins or holders of `system:admin` (401
// anonymous, 403 others). Handlers run on workers: they read job records and
// storage statistics from the store. `report` may be null (no store opened):
// /info then lists no collections.
void add_job_routes(Router& router,
                    config::Scheduler& scheduler,
                    repositories::SystemReport* report,
                    JobRoutesInfo info);

}  // namespace nexu::api
