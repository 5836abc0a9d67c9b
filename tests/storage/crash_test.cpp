// Crash consistency with the fault-injecting Env: a scripted workload is
// "killed" at every sync barrier and at 1,000 random calls (100 of those
// crash again during recovery); after a power cut the store must reopen in
// the state of some prefix of the operations that contains every
// acknowledged one.
#include <map>
#include <random>

#include <catch2/catch.hpp>

#include "support/store_fixture.hpp"

using namespace nexu;
using namespace nexu::infrastructure;

namespace {

struct Op {
    enum class Kind { put, put_if, create, remove, append, checkpoint, collect } kind;
    std::string id;
    std::string body;
    std::uint64_t expected = 0;
};

struct Doc {
    std::uint64_t rev = 0;
    bool is_live = false;
    std::string body;
    bool operator==(const Doc&) const = default;
};

// The reference: what the store must hold after a prefix of the script.
struct Model {
    std::map<std::string, Doc> docs;
    std::uint64_t seq = 0;
    std::vector<std::string> appended;

    // Whether the op succeeds (is acknowledged) from this state.
    bool apply(const Op& op) {
        auto& doc = docs[op.id];
        const auto live_rev = doc.is_live ? doc.rev : 0;
        switch (op.kind) {
            case Op::Kind::put:
                break;
            case Op::Kind::put_if:
                if (live_rev != op.expected) return false;
                break;
            case Op::Kind::create:
                if (doc.is_live) return false;
                break;
            case Op::Kind::remove:
                if (!doc.is_live) return false;
                doc = Doc{doc.rev + 1, false, {}};
                ++seq;
                return true;
            case Op::Kind::append:
                appended.push_back(op.body);
                ++seq;
                return true;
            case Op::Kind::checkpoint:
            case Op::Kind::collect:
                return true;
        }
        doc = Doc{doc.rev + 1, true, op.body};
        ++seq;
        return true;
    }

    bool operator==(const Model& other) const {
        auto live = [](const Model& m) {
            std::map<std::string, Doc> out;
            for (const auto& [id, doc] : m.docs) {
                if (doc.is_live) out[id] = doc;
            }
            return out;
        };
        return live(*this) == live(other) && seq == other.seq && appended == other.appended;
    }
};

std::vector<Op> make_script(std::mt19937& rng) {
    std::vector<Op> ops;
    const std::vector<std::string> ids{"a", "b", "c", "d"};
    std::uniform_int_distribution<int> pick(0, 99);
    std::uniform_int_distribution<std::size_t> which(0, ids.size() - 1);
    for (int i = 0; i < 36; ++i) {
        const auto& id = ids[which(rng)];
        const auto body = testing::numbered("body-", static_cast<std::uint64_t>(i)) +
                          std::string(static_cast<std::size_t>(pick(rng)) * 5, 'x');
        const int roll = pick(rng);
        if (i % 12 == 11) {
            ops.push_back(Op{Op::Kind::checkpoint, "notes", {}, 0});
        } else if (i % 12 == 5) {
            ops.push_back(Op{Op::Kind::collect, "notes", {}, 0});
        } else if (roll < 30) {
            ops.push_back(Op{Op::Kind::put, id, body, 0});
        } else if (roll < 55) {
            // Expected revisions that are right about half the time.
            ops.push_back(
                Op{Op::Kind::put_if, id, body, static_cast<std::uint64_t>(pick(rng) % 4)});
        } else if (roll < 70) {
            ops.push_back(Op{Op::Kind::create, id, body, 0});
        } else if (roll < 85) {
            ops.push_back(Op{Op::Kind::remove, id, {}, 0});
        } else {
            ops.push_back(Op{Op::Kind::append, "room", body, 0});
        }
    }
    return ops;
}

// Runs one op; true when acknowledged.
bool run(Store& store, const Op& op) {
    switch (op.kind) {
        case Op::Kind::put:
            return store.put("notes", op.id, op.body).has_value();
        case Op::Kind::put_if:
            return store.put("notes", op.id, op.body, op.expected).has_value();
        case Op::Kind::create:
            return store.put("notes", op.id, op.body, std::uint64_t{0}).has_value();
        case Op::Kind::remove:
            return store.remove("notes", op.id).has_value();
        case Op::Kind::append:
            return store.append("room", op.body).has_value();
        case Op::Kind::checkpoint:
            (void)store.checkpoint("notes");
            return true;
        case Op::Kind::collect:
            (void)store.collect_garbage();
            return true;
    }
    return false;
}

// The store's state in model form, or an error text.
std::optional<Model> read_back(Store& store, std::string& problem) {
    Model model;
    for (const auto* id : {"a", "b", "c", "d"}) {
        auto doc = store.get("notes", id);
        if (doc) {
            model.docs[id] = Doc{doc->rev, true, *doc->body};
        } else if (doc.error().code != Errc::not_found) {
            problem = "get " + std::string{id} + ": " + doc.error().context;
            return std::nullopt;
        }
    }
    auto notes_seq = store.sequence("notes");
    auto room_seq = store.sequence("room");
    auto appended = store.read_appended("room", 0, 1000);
    if (!notes_seq || !room_seq || !appended) {
        problem = "sequence or appended records unreadable";
        return std::nullopt;
    }
    model.seq = *notes_seq + appended->size();
    for (const auto& record : *appended) model.appended.push_back(*record.body);
    // Live docs' revisions must match; the model's seq counts both collections.
    return model;
}

struct Trial {
    std::optional<std::uint64_t> crash_barrier;
    std::optional<std::uint64_t> crash_call;
    std::optional<std::uint64_t> recovery_crash_call;
    bool tear = false;
};

// Runs the script under one crash; returns an empty string when consistent.
std::string run_trial(const std::vector<Op>& script,
                      const Trial& trial,
                      std::mt19937& rng,
                      std::uint64_t* calls_out = nullptr,
                      std::uint64_t* barriers_out = nullptr) {
    testing::StoreFixture fixture;
    auto settings = testing::test_settings();
    settings.segment_bytes = 512;
    auto opened = fixture.open(settings);
    if (!opened) return "first open failed: " + opened.error().context;
    auto store = std::move(*opened);
    if (trial.crash_barrier) fixture.env.crash_at_barrier(*trial.crash_barrier);
    if (trial.crash_call) fixture.env.crash_at_call(*trial.crash_call);

    // Split the model in two: "notes" seq and the room's appends both count.
    std::vector<Model> prefixes{Model{}};
    std::size_t acknowledged = 0;
    std::size_t attempted = 0;
    for (const auto& op : script) {
        if (fixture.env.has_crashed()) break;
        Model next = prefixes.back();
        const bool expected_ok = next.apply(op);
        const bool ok = run(*store, op);
        ++attempted;
        prefixes.push_back(next);
        if (fixture.env.has_crashed()) break;
        if (ok != expected_ok) {
            return testing::numbered("op ", static_cast<std::uint64_t>(attempted - 1)) +
                   " answered " + (ok ? "ok" : "error") + " but the model says otherwise";
        }
        acknowledged = attempted;
    }
    if (calls_out) *calls_out = fixture.env.calls();
    if (barriers_out) *barriers_out = fixture.env.barriers();
    store.reset();
    fixture.env.lose_unsynced_data(trial.tear ? &rng : nullptr);

    if (trial.recovery_crash_call) {
        fixture.env.crash_at_call(*trial.recovery_crash_call);
        auto during = fixture.open(settings);
        if (during) {
            std::string ignored;
            (void)read_back(**during, ignored);
            during->reset();
        }
        fixture.env.lose_unsynced_data(trial.tear ? &rng : nullptr);
    }

    auto reopened = fixture.open(settings);
    if (!reopened) return "reopen failed: " + reopened.error().context;
    std::string problem;
    auto state = read_back(**reopened, problem);
    if (!state) return problem;
    // Some prefix containing every acknowledged op: the acknowledged ones,
    // plus possibly the op in flight when the process died.
    for (std::size_t k = acknowledged; k <= attempted && k < prefixes.size(); ++k) {
        if (*state == prefixes[k]) return {};
    }
    return testing::numbered("recovered state matches no allowed prefix (acknowledged ",
                             static_cast<std::uint64_t>(acknowledged)) +
           testing::numbered(", attempted ", static_cast<std::uint64_t>(attempted)) + ")";
}

}  // namespace

TEST_CASE("crashes at every sync barrier and at random calls recover to an acknowledged prefix",
          "[crash]") {
    std::mt19937 rng{20261123};
    const auto script = make_script(rng);

    std::uint64_t calls = 0;
    std::uint64_t barriers = 0;
    REQUIRE(run_trial(script, Trial{}, rng, &calls, &barriers).empty());
    REQUIRE(barriers > 50);

    std::size_t trials = 0;
    for (std::uint64_t barrier = 1; barrier <= barriers; ++barrier) {
        const auto problem =
            run_trial(script, Trial{barrier, std::nullopt, std::nullopt, barrier % 2 == 0}, rng);
        CAPTURE(barrier);
        CHECK(problem.empty());
        if (!problem.empty()) FAIL_CHECK(problem);
        ++trials;
    }
    std::uniform_int_distribution<std::uint64_t> call(1, calls);
    std::uniform_int_distribution<std::uint64_t> recovery_call(1, 60);
    for (int i = 0; i < 1000; ++i) {
        Trial trial{std::nullopt, call(rng), std::nullopt, i % 2 == 1};
        if (i % 10 == 0) trial.recovery_crash_call = recovery_call(rng);
        const auto problem = run_trial(script, trial, rng);
        CAPTURE(i, *trial.crash_call);
        if (!problem.empty()) FAIL_CHECK(problem);
        ++trials;
    }
    WARN("crash trials: " << trials << " (" << barriers << " barriers, " << calls << " calls)");
}
