// Tampering with the data directory: truncation to every length, appended
// garbage, flipped bits, objects copied over others, commit files renamed or
// deleted. Each must be detected (verify reports it, or the store refuses to
// open), and no read may ever return anything but the original data.
#include <fstream>
#include <map>
#include <random>

#include <catch2/catch.hpp>

#include "infrastructure/storage_format.hpp"
#include "support/store_fixture.hpp"

using namespace nexu;
using namespace nexu::infrastructure;
namespace fs = std::filesystem;
namespace sf = nexu::infrastructure::storage_format;

namespace {

std::string read_bytes(const fs::path& path) {
    std::ifstream in{path, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, {}};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

StoreSettings settings() {
    auto s = testing::test_settings();
    s.segment_bytes = 400;
    return s;
}

// A data set with a checkpoint (several segments) and a log tail in one
// collection, and a log-only collection of appended records.
class Tampering {
public:
    Tampering() {
        auto store = fixture_.open_or_throw(settings());
        for (int i = 0; i < 12; ++i) {
            REQUIRE(store->put("notes", testing::numbered("n", static_cast<std::uint64_t>(i)),
                               testing::numbered("note body ", static_cast<std::uint64_t>(i))));
        }
        REQUIRE(store->checkpoint("notes"));
        REQUIRE(store->collect_garbage());
        for (int i = 0; i < 4; ++i)
            REQUIRE(store->put("notes", testing::numbered("n", static_cast<std::uint64_t>(i * 3)),
                               testing::numbered("changed ", static_cast<std::uint64_t>(i))));
        for (int i = 0; i < 5; ++i)
            REQUIRE(store->append("room",
                                  testing::numbered("message ", static_cast<std::uint64_t>(i))));
        for (const auto* id :
             {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11"}) {
            originals_[id] = {store->get("notes", id)->rev, *store->get("notes", id)->body};
        }
        const auto records = store->read_appended("room", 0, 100).value();
        for (const auto& record : records) appended_[record.seq] = *record.body;
        store.reset();  // saves the high-water marks
        for (const auto& entry : fs::recursive_directory_iterator(fixture_.data_dir())) {
            if (entry.is_regular_file()) files_.push_back(entry.path());
        }
        std::sort(files_.begin(), files_.end());
        for (const auto& file : files_) pristine_[file] = read_bytes(file);
    }

    const std::vector<fs::path>& files() const { return files_; }
    const std::string& pristine(const fs::path& file) { return pristine_[file]; }

    std::vector<fs::path> commit_files(const std::string& collection) const {
        std::vector<fs::path> out;
        for (const auto& file : files_) {
            if (file.parent_path() == fixture_.data_dir() / collection / "log") out.push_back(file);
        }
        return out;
    }

    // Puts every file back as it was and removes anything added.
    void restore() {
        for (const auto& entry : fs::recursive_directory_iterator(fixture_.data_dir())) {
            if (entry.is_regular_file() && !pristine_.count(entry.path())) fs::remove(entry.path());
        }
        for (const auto& [file, bytes] : pristine_) write_bytes(file, bytes);
    }

    // Empty when the damage was detected and nothing wrong was returned.
    std::string check(const std::string& what) {
        auto opened = fixture_.open(settings());
        if (!opened) {
            const bool ok = opened.error().code == Errc::invalid_argument ||
                            opened.error().code == Errc::corrupt_object;
            return ok ? std::string{} : what + ": open failed oddly: " + opened.error().context;
        }
        auto& store = **opened;
        for (const auto& [id, original] : originals_) {
            auto doc = store.get("notes", id);
            if (doc && (doc->rev != original.first || *doc->body != original.second)) {
                return what + ": wrong data returned for " + id;
            }
            if (!doc && doc.error().code != Errc::corrupt_object) {
                return what + ": " + id + " answered " + to_string(doc.error().code);
            }
        }
        auto records = store.read_appended("room", 0, 100);
        if (records) {
            for (const auto& record : *records) {
                const auto found = appended_.find(record.seq);
                if (found == appended_.end() || found->second != *record.body) {
                    return what + ": wrong record returned";
                }
            }
        }
        auto report = store.verify();
        if (!report) return what + ": verify failed: " + report.error().context;
        if (report->damaged.empty()) return what + ": not detected";
        return {};
    }

private:
    testing::StoreFixture fixture_;
    std::vector<fs::path> files_;
    std::map<fs::path, std::string> pristine_;
    std::map<std::string, std::pair<std::uint64_t, std::string>> originals_;
    std::map<std::uint64_t, std::string> appended_;
};

}  // namespace

TEST_CASE("every truncation of every object is detected", "[tamper]") {
    Tampering data;
    REQUIRE(data.check("pristine") == "pristine: not detected");
    std::size_t trials = 0;
    for (const auto& file : data.files()) {
        const auto bytes = data.pristine(file);
        for (std::size_t length = 0; length < bytes.size(); ++length) {
            data.restore();
            write_bytes(file, bytes.substr(0, length));
            const auto problem =
                data.check(file.filename().string() +
                           testing::numbered(" cut to ", static_cast<std::uint64_t>(length)));
            if (!problem.empty()) FAIL_CHECK(problem);
            ++trials;
        }
    }
    WARN("truncations: " << trials << " over " << data.files().size() << " files");
}

TEST_CASE("appended garbage and flipped bits are detected in every object", "[tamper]") {
    Tampering data;
    std::mt19937 rng{7};
    std::size_t trials = 0;
    for (const auto& file : data.files()) {
        const auto bytes = data.pristine(file);
        data.restore();
        write_bytes(file, bytes + "garbage");
        if (auto problem = data.check(file.filename().string() + " + garbage"); !problem.empty())
            FAIL_CHECK(problem);
        std::uniform_int_distribution<std::size_t> bit(0, bytes.size() * 8 - 1);
        for (int i = 0; i < 40; ++i) {
            const auto at = bit(rng);
            auto flipped = bytes;
            flipped[at / 8] = static_cast<char>(flipped[at / 8] ^ (1 << (at % 8)));
            data.restore();
            write_bytes(file, flipped);
            const auto problem =
                data.check(file.filename().string() +
                           testing::numbered(" bit ", static_cast<std::uint64_t>(at)));
            if (!problem.empty()) FAIL_CHECK(problem);
            ++trials;
        }
    }
    WARN("bit flips: " << trials);
}

TEST_CASE(
    "objects copied over others, renamed commit files and deleted newest commits are detected",
    "[tamper]") {
    Tampering data;
    std::vector<std::pair<std::string, std::function<void()>>> cases;
    const auto& files = data.files();
    for (const auto& a : files) {
        for (const auto& b : files) {
            if (a == b || a.extension() != b.extension() || data.pristine(a) == data.pristine(b))
                continue;
            cases.emplace_back(a.filename().string() + " copied over " + b.filename().string(),
                               [&, a, b] { write_bytes(b, data.pristine(a)); });
        }
    }
    for (const auto* collection : {"notes", "room"}) {
        const auto commits = data.commit_files(collection);
        REQUIRE(commits.size() >= 2);
        for (std::size_t i = 0; i + 1 < commits.size(); ++i) {
            cases.emplace_back(commits[i].filename().string() + " renamed over the next",
                               [a = commits[i], b = commits[i + 1]] { fs::rename(a, b); });
        }
        const auto last = commits.back();
        const auto beyond =
            last.parent_path() /
            sf::commit_file_name(sf::parse_file_name(last.filename().string())->seq + 5);
        cases.emplace_back(std::string{collection} + " newest renamed beyond the end",
                           [=] { fs::rename(last, beyond); });
        cases.emplace_back(std::string{collection} + " newest commit deleted",
                           [=] { fs::remove(last); });
        cases.emplace_back(std::string{collection} + " two newest deleted", [=] {
            fs::remove(last);
            fs::remove(commits[commits.size() - 2]);
        });
    }
    for (const auto& file : files) {
        if (file.extension() == ".nxs" || file.extension() == ".nxi" ||
            file.filename() == "CURRENT") {
            cases.emplace_back(file.filename().string() + " deleted", [=] { fs::remove(file); });
        }
    }
    for (const auto& [what, mutate] : cases) {
        data.restore();
        mutate();
        const auto problem = data.check(what);
        if (!problem.empty()) FAIL_CHECK(problem);
    }
    WARN("swap, rename and delete cases: " << cases.size());
}
