#include "repositories/maintenance_jobs.hpp"

#include <spdlog/spdlog.h>

#include "config/metrics.hpp"
#include "domain/timestamp.hpp"

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;

struct Finding {
    std::string collection;
    std::string object;
    std::string reason;
};

}  // namespace

config::JobDefinition MaintenanceJobs::integrity() {
    return {"integrity", [this](const config::JobContext& c) { return run_integrity(c); }, {}};
}

config::JobDefinition MaintenanceJobs::reindex() {
    return {"reindex", [this](const config::JobContext& c) { return run_reindex(c); }, {}};
}

config::JobDefinition MaintenanceJobs::temp_cleanup() {
    return {
        "temp-cleanup", [this](const config::JobContext& c) { return run_temp_cleanup(c); }, {}};
}

config::JobDefinition MaintenanceJobs::log_rotation() {
    return {
        "log-rotation", [this](const config::JobContext& c) { return run_log_rotation(c); }, {}};
}

config::JobOutcome MaintenanceJobs::run_integrity(const config::JobContext& context) {
    auto& registry = metrics::registry();
    registry.describe("nexu_integrity_findings",
                      "Damaged objects found by the last integrity run.");
    registry.describe("nexu_integrity_runs_total",
                      "Integrity runs that finished (with or without findings).");
    const auto started = std::chrono::system_clock::now();
    context.progress("verifying the document store");
    auto verified = parts_.store->verify();
    if (!verified) {
        spdlog::error("integrity: the store could not be verified: {}", verified.error().context);
        return {false, std::string{"the store could not be verified: "} +
                           to_string(verified.error().code)};
    }
    std::vector<Finding> findings;
    for (const auto& damage : verified->damaged) {
        findings.push_back({damage.collection, damage.object, damage.reason});
    }

    // File blobs: each read back whole, every chunk authenticated, the final
    // tag and the size checked against the metadata.
    std::size_t blobs = 0;
    bool was_stopped = false;
    if (parts_.files) {
        auto listed = parts_.files->list("", std::nullopt);
        if (!listed) {
            findings.push_back(
                {std::string{FileRepository::kCollection}, "(metadata)",
                 std::string{"cannot list files: "} + to_string(listed.error().code)});
        } else {
            for (const auto& file : *listed) {
                if (context.stop.stop_requested()) {
                    was_stopped = true;
                    break;
                }
                if (++blobs % 100 == 0) {
                    context.progress("file blobs: " + std::to_string(blobs) + " of " +
                                     std::to_string(listed->size()));
                }
                // The path is user data: the finding names the metadata document id.
                const auto object = FileRepository::id_of(file.path);
                auto reader = parts_.files->open_content(file, 0, file.size_bytes);
                std::uint64_t read = 0;
                std::optional<Error> failure;
                if (!reader) {
                    failure = reader.error();
                } else {
                    while (true) {
                        auto piece = reader->next();
                        if (!piece) {
                            failure = piece.error();
                            break;
                        }
                        if (piece->empty()) break;
                        read += piece->size();
                    }
                }
                if (!failure && read != file.size_bytes) {
                    failure = Error{Errc::corrupt_object, "short blob"};
                }
                if (failure) {
                    findings.push_back({std::string{FileRepository::kCollection}, object,
                                        std::string{"blob "} + to_string(failure->code)});
                }
            }
        }
    }

    for (const auto& finding : findings) {
        spdlog::error("integrity: finding collection={} object={} reason={}", finding.collection,
                      finding.object, finding.reason);
    }
    registry.gauge("nexu_integrity_findings").set(static_cast<std::int64_t>(findings.size()));
    registry.counter("nexu_integrity_runs_total").add();

    Json listed = Json::array();
    for (const auto& finding : findings) {
        if (listed.size() == SystemReport::kMaxListedFindings) break;
        listed.push_back({{"collection", finding.collection},
                          {"object", finding.object},
                          {"reason", finding.reason}});
    }
    std::string summary = std::to_string(findings.size()) + " findings in " +
                          std::to_string(verified->collections) + " collections, " +
                          std::to_string(verified->documents) + " documents, " +
                          std::to_string(verified->commit_files) + " commit files, " +
                          std::to_string(blobs) + " file blobs";
    if (was_stopped) summary += " (stopped before every blob was read)";
    Json result{{"checked_at", domain::format_timestamp(started)},
                {"ok", findings.empty() && !was_stopped},
                {"findings", findings.size()},
                {"listed", std::move(listed)},
                {"collections", verified->collections},
                {"documents", verified->documents},
                {"commit_files", verified->commit_files},
                {"file_blobs", blobs},
                {"complete", !was_stopped}};
    if (auto saved = parts_.report->save_integrity(std::move(result)); !saved) {
        spdlog::warn("integrity: cannot record the result: {}", saved.error().context);
    }
    return {findings.empty() && !was_stopped, summary};
}

config::JobOutcome MaintenanceJobs::run_reindex(const config::JobContext& context) {
    std::size_t rebuilt = 0;
    if (parts_.field_indexes && parts_.collections) {
        context.progress("rebuilding field indexes");
        auto done = parts_.field_indexes->reindex_all(*parts_.collections);
        if (!done) {
            return {false, std::string{"field indexes: "} + to_string(done.error().code)};
        }
        rebuilt = *done;
    }
    auto names = parts_.store->collections();
    if (!names)
        return {false, std::string{"cannot list collections: "} + to_string(names.error().code)};
    std::size_t checkpointed = 0;
    std::vector<std::string> failed;
    for (const auto& name : *names) {
        if (context.stop.stop_requested()) {
            return {false, "stopped after " + std::to_string(checkpointed) + " checkpoints"};
        }
        context.progress("checkpointing " + name);
        // A no-op for a collection without commits since its last checkpoint.
        if (auto done = parts_.store->checkpoint(name); !done) {
            spdlog::warn("reindex: collection={} checkpoint failed: {}", name,
                         done.error().context);
            failed.push_back(name);
            continue;
        }
        ++checkpointed;
    }
    std::string summary = std::to_string(rebuilt) + " collections' field indexes rebuilt, " +
                          std::to_string(checkpointed) + " collections checkpointed";
    if (!failed.empty()) {
        summary += "; checkpoint failed for";
        for (const auto& name : failed) {
            summary += ' ';
            summary += name;
        }
    }
    return {failed.empty(), summary};
}

config::JobOutcome MaintenanceJobs::run_temp_cleanup(const config::JobContext& context) {
    std::size_t store_files = 0;
    std::size_t blob_files = 0;
    std::size_t leases = 0;
    std::vector<std::string> problems;
    context.progress("store garbage");
    if (auto removed = parts_.store->collect_garbage()) {
        store_files = *removed;
    } else {
        spdlog::warn("temp-cleanup: store: {}", removed.error().context);
        problems.push_back(std::string{"store: "} + to_string(removed.error().code));
    }
    if (parts_.files && !context.stop.stop_requested()) {
        context.progress("file blobs");
        if (auto removed = parts_.files->collect_garbage()) {
            blob_files = *removed;
        } else {
            spdlog::warn("temp-cleanup: files: {}", removed.error().context);
            problems.push_back(std::string{"files: "} + to_string(removed.error().code));
        }
    }
    if (parts_.leases && !context.stop.stop_requested()) {
        context.progress("job leases");
        if (auto removed = parts_.leases->remove_old(std::chrono::system_clock::now() -
                                                     parts_.lease_retention)) {
            leases = *removed;
        } else {
            spdlog::warn("temp-cleanup: job leases: {}", removed.error().context);
            problems.push_back(std::string{"job leases: "} + to_string(removed.error().code));
        }
    }
    std::string summary = std::to_string(store_files) + " store files, " +
                          std::to_string(blob_files) + " blob files, " + std::to_string(leases) +
                          " job leases removed";
    for (const auto& problem : problems) {
        summary += "; ";
        summary += problem;
    }
    return {problems.empty(), summary};
}

config::JobOutcome MaintenanceJobs::run_log_rotation(const config::JobContext&) {
    const auto done = config::maintain_log_files(parts_.log);
    std::string summary = done.rotated ? "log file rotated" : "log file not due";
    summary += ", " + std::to_string(done.removed) + " old log files removed";
    if (!done.error.empty()) summary += "; " + done.error;
    return {done.error.empty(), summary};
}

}  // namespace nexu::repositories
