#include "repositories/job_state_repository.hpp"

#include <chrono>

namespace nexu::repositories {

namespace {

using Json = nlohmann::json;
using TimePoint = config::JobRunRecord::TimePoint;

Json time_json(const std::optional<TimePoint>& when) {
    if (!when) return nullptr;
    return std::chrono::duration_cast<std::chrono::milliseconds>(when->time_since_epoch()).count();
}

std::optional<TimePoint> time_of(const Json& value) {
    if (!value.is_number_integer()) return std::nullopt;
    return TimePoint{std::chrono::milliseconds{value.get<std::int64_t>()}};
}

std::string text_of(const Json& document, const char* key) {
    const auto found = document.find(key);
    return found != document.end() && found->is_string() ? found->get<std::string>()
                                                         : std::string{};
}

}  // namespace

tl::expected<std::optional<config::JobRunRecord>, std::string> JobStateRepository::load(
    std::string_view job) {
    auto document = documents_.find_fresh(kCollection, job);
    if (!document) {
        if (document.error().code == Errc::not_found) return std::optional<config::JobRunRecord>{};
        return tl::make_unexpected(document.error().context);
    }
    const Json& d = *document;
    config::JobRunRecord record;
    record.name = std::string{job};
    record.last_start = time_of(d.value("last_start_ms", Json{}));
    record.last_duration_s = d.value("last_duration_s", 0.0);
    record.last_result = text_of(d, "last_result");
    record.last_summary = text_of(d, "last_summary");
    record.last_instance = text_of(d, "last_instance");
    record.last_trigger = text_of(d, "last_trigger");
    record.runs = d.value("runs", std::uint64_t{0});
    record.running = d.value("running", false);
    record.running_instance = text_of(d, "running_instance");
    record.running_since = time_of(d.value("running_since_ms", Json{}));
    record.running_expires = time_of(d.value("running_expires_ms", Json{}));
    record.progress = text_of(d, "progress");
    return std::optional<config::JobRunRecord>{std::move(record)};
}

tl::expected<void, std::string> JobStateRepository::save(const config::JobRunRecord& record) {
    Json document{{"last_start_ms", time_json(record.last_start)},
                  {"last_duration_s", record.last_duration_s},
                  {"last_result", record.last_result},
                  {"last_summary", record.last_summary},
                  {"last_instance", record.last_instance},
                  {"last_trigger", record.last_trigger},
                  {"runs", record.runs},
                  {"running", record.running},
                  {"running_instance", record.running_instance},
                  {"running_since_ms", time_json(record.running_since)},
                  {"running_expires_ms", time_json(record.running_expires)},
                  {"progress", record.progress}};
    auto saved = documents_.replace(kCollection, record.name, std::move(document));
    if (!saved) return tl::make_unexpected(saved.error().context);
    return {};
}

}  // namespace nexu::repositories
