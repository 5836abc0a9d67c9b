#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "infrastructure/env.hpp"
#include "infrastructure/posix_env.hpp"

namespace nexu::testing {

enum class EnvOp {
    read_file,
    read_range,
    create_file,
    append,
    sync,
    close,
    link,
    rename,
    remove,
    sync_dir,
    make_dir,
    list_dir,
    stat,
};

inline const char* to_string(EnvOp op) {
    switch (op) {
        case EnvOp::read_file:
            return "read_file";
        case EnvOp::read_range:
            return "read_range";
        case EnvOp::create_file:
            return "create_file";
        case EnvOp::append:
            return "append";
        case EnvOp::sync:
            return "sync";
        case EnvOp::close:
            return "close";
        case EnvOp::link:
            return "link";
        case EnvOp::rename:
            return "rename";
        case EnvOp::remove:
            return "remove";
        case EnvOp::sync_dir:
            return "sync_dir";
        case EnvOp::make_dir:
            return "make_dir";
        case EnvOp::list_dir:
            return "list_dir";
        case EnvOp::stat:
            return "stat";
    }
    return "?";
}

// An Env for tests: forwards every call to a real Env (files live in a real
// temp directory), and on request fails a named call with an errno, writes
// only part of an append, or "crashes": from a chosen call on, every call
// fails as if the process had died. lose_unsynced_data() then does to the
// directory what a power cut would (POSIX's weakest promise): file bytes not
// fsynced are dropped (or torn at a random length), and directory changes
// (create, link, rename, unlink, mkdir) not followed by an fsync of their
// directory are undone, newest first. Thread-safe.
class FaultyEnv final : public infrastructure::Env {
public:
    explicit FaultyEnv(infrastructure::Env& base) : base_(base) {}

    // The (skip+1)-th next call of `op` fails with `error_number`.
    void fail_next(EnvOp op, int error_number, int skip = 0) {
        std::lock_guard lock{mutex_};
        faults_.push_back(Fault{op, error_number, skip});
    }
    // Every call of `op` fails with `error_number` until clear_faults().
    void fail_always(EnvOp op, int error_number) {
        std::lock_guard lock{mutex_};
        permanent_[op] = error_number;
    }
    void clear_faults() {
        std::lock_guard lock{mutex_};
        faults_.clear();
        permanent_.clear();
        short_write_ = false;
    }
    // Runs `hook` (outside the lock, so it may block) at the start of every
    // call of `op`, before any fault: tests use it to pause a writer.
    void on_call(EnvOp op, std::function<void(const std::filesystem::path&)> hook) {
        std::lock_guard lock{mutex_};
        hooks_[op] = std::move(hook);
    }
    // The next append writes half of its bytes, then fails with ENOSPC.
    void short_write_next() {
        std::lock_guard lock{mutex_};
        short_write_ = true;
    }
    // The process "dies" at the n-th next call (that call fails, and so does
    // every later one) until lose_unsynced_data().
    void crash_at_call(std::uint64_t n) {
        std::lock_guard lock{mutex_};
        crash_at_call_ = calls_ + n;
    }
    // ...or at the n-th next sync barrier (file fsync or directory fsync).
    void crash_at_barrier(std::uint64_t n) {
        std::lock_guard lock{mutex_};
        crash_at_barrier_ = barriers_ + n;
    }
    bool has_crashed() const {
        std::lock_guard lock{mutex_};
        return is_dead_;
    }
    std::uint64_t calls() const {
        std::lock_guard lock{mutex_};
        return calls_;
    }
    std::uint64_t barriers() const {
        std::lock_guard lock{mutex_};
        return barriers_;
    }

    // The power cut. With `tear`, unsynced file tails keep a random prefix
    // instead of vanishing whole. Revives the Env afterwards.
    void lose_unsynced_data(std::mt19937* tear = nullptr) {
        std::lock_guard lock{mutex_};
        std::error_code ec;
        for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
            const DirChange& change = *it;
            switch (change.kind) {
                case DirChange::Kind::create:
                case DirChange::Kind::link:
                    std::filesystem::remove(change.path, ec);
                    files_.erase(change.path.string());
                    break;
                case DirChange::Kind::make_dir:
                    std::filesystem::remove_all(change.path, ec);
                    break;
                case DirChange::Kind::rename:
                    std::filesystem::rename(change.path, change.other, ec);
                    if (auto found = files_.find(change.path.string()); found != files_.end()) {
                        files_[change.other.string()] = found->second;
                        files_.erase(found);
                    }
                    if (change.saved) write_whole(change.path, *change.saved);
                    break;
                case DirChange::Kind::remove:
                    if (change.saved) write_whole(change.path, *change.saved);
                    break;
            }
        }
        journal_.clear();
        for (auto& [path, state] : files_) {
            const auto size = std::filesystem::file_size(path, ec);
            if (ec || size <= state.synced_bytes) continue;
            std::uint64_t keep = state.synced_bytes;
            if (tear != nullptr) {
                keep += std::uniform_int_distribution<std::uint64_t>{
                    0, size - state.synced_bytes}(*tear);
            }
            std::filesystem::resize_file(path, keep, ec);
            state.synced_bytes = keep;
        }
        is_dead_ = false;
        crash_at_call_.reset();
        crash_at_barrier_.reset();
        faults_.clear();
        permanent_.clear();
        short_write_ = false;
    }

    // ---- Env ----
    Result<std::string> read_file(const std::filesystem::path& path) override {
        if (auto failed = enter(EnvOp::read_file, path)) return tl::make_unexpected(*failed);
        return base_.read_file(path);
    }
    Result<std::string> read_range(const std::filesystem::path& path,
                                   std::uint64_t offset,
                                   std::size_t length) override {
        if (auto failed = enter(EnvOp::read_range, path)) return tl::make_unexpected(*failed);
        return base_.read_range(path, offset, length);
    }
    Result<std::unique_ptr<infrastructure::WritableFile>> create_file(
        const std::filesystem::path& path) override {
        if (auto failed = enter(EnvOp::create_file, path)) return tl::make_unexpected(*failed);
        auto file = base_.create_file(path);
        if (!file) return tl::make_unexpected(file.error());
        std::lock_guard lock{mutex_};
        journal_.push_back(DirChange{DirChange::Kind::create, path, {}, std::nullopt});
        files_[path.string()] = FileState{};
        return std::unique_ptr<infrastructure::WritableFile>{
            std::make_unique<File>(*this, path, std::move(*file))};
    }
    Result<void> link(const std::filesystem::path& from, const std::filesystem::path& to) override {
        if (auto failed = enter(EnvOp::link, to)) return tl::make_unexpected(*failed);
        auto linked = base_.link(from, to);
        if (linked) {
            std::lock_guard lock{mutex_};
            journal_.push_back(DirChange{DirChange::Kind::link, to, from, std::nullopt});
            if (auto found = files_.find(from.string()); found != files_.end()) {
                files_[to.string()] = found->second;
            }
        }
        return linked;
    }
    Result<void> rename(const std::filesystem::path& from,
                        const std::filesystem::path& to) override {
        if (auto failed = enter(EnvOp::rename, to)) return tl::make_unexpected(*failed);
        auto previous = base_.read_file(to);
        auto renamed = base_.rename(from, to);
        if (renamed) {
            std::lock_guard lock{mutex_};
            journal_.push_back(
                DirChange{DirChange::Kind::rename, to, from,
                          previous ? std::optional<std::string>{*previous} : std::nullopt});
            if (auto found = files_.find(from.string()); found != files_.end()) {
                files_[to.string()] = found->second;
                files_.erase(found);
            } else {
                files_.erase(to.string());
            }
        }
        return renamed;
    }
    Result<void> remove(const std::filesystem::path& path) override {
        if (auto failed = enter(EnvOp::remove, path)) return tl::make_unexpected(*failed);
        auto previous = base_.read_file(path);
        auto removed = base_.remove(path);
        if (removed) {
            std::lock_guard lock{mutex_};
            std::optional<std::string> saved;
            if (previous) {
                // Only the synced part of the removed file would come back.
                saved = *previous;
                if (auto found = files_.find(path.string()); found != files_.end()) {
                    saved->resize(std::min<std::size_t>(saved->size(), found->second.synced_bytes));
                }
            }
            journal_.push_back(DirChange{DirChange::Kind::remove, path, {}, saved});
            files_.erase(path.string());
        }
        return removed;
    }
    Result<void> sync_dir(const std::filesystem::path& dir) override {
        if (auto failed = enter(EnvOp::sync_dir, dir, true)) return tl::make_unexpected(*failed);
        auto synced = base_.sync_dir(dir);
        if (synced) {
            std::lock_guard lock{mutex_};
            std::erase_if(journal_, [&](const DirChange& change) {
                return change.path.parent_path() == dir;
            });
        }
        return synced;
    }
    Result<void> make_dir(const std::filesystem::path& dir) override {
        if (auto failed = enter(EnvOp::make_dir, dir)) return tl::make_unexpected(*failed);
        std::error_code ec;
        const bool existed = std::filesystem::is_directory(dir, ec);
        auto made = base_.make_dir(dir);
        if (made && !existed) {
            std::lock_guard lock{mutex_};
            journal_.push_back(DirChange{DirChange::Kind::make_dir, dir, {}, std::nullopt});
        }
        return made;
    }
    Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir) override {
        if (auto failed = enter(EnvOp::list_dir, dir)) return tl::make_unexpected(*failed);
        return base_.list_dir(dir);
    }
    Result<infrastructure::FileInfo> stat(const std::filesystem::path& path) override {
        if (auto failed = enter(EnvOp::stat, path)) return tl::make_unexpected(*failed);
        return base_.stat(path);
    }

private:
    struct Fault {
        EnvOp op;
        int error_number;
        int skip;
    };
    struct FileState {
        std::uint64_t written_bytes = 0;
        std::uint64_t synced_bytes = 0;
    };
    struct DirChange {
        enum class Kind { create, link, rename, remove, make_dir } kind;
        std::filesystem::path path;   // the name created, renamed to or removed
        std::filesystem::path other;  // rename: the old name; link: the source
        std::optional<std::string> saved;
    };

    class File final : public infrastructure::WritableFile {
    public:
        File(FaultyEnv& env,
             std::filesystem::path path,
             std::unique_ptr<infrastructure::WritableFile> inner)
            : env_(env), path_(std::move(path)), inner_(std::move(inner)) {}
        Result<void> append(std::string_view bytes) override {
            if (auto failed = env_.enter(EnvOp::append, path_)) return tl::make_unexpected(*failed);
            bool is_short = false;
            {
                std::lock_guard lock{env_.mutex_};
                is_short = env_.short_write_;
                env_.short_write_ = false;
            }
            if (is_short) bytes = bytes.substr(0, bytes.size() / 2);
            auto written = inner_->append(bytes);
            if (written) {
                std::lock_guard lock{env_.mutex_};
                env_.files_[path_.string()].written_bytes += bytes.size();
            }
            if (is_short)
                return tl::make_unexpected(infrastructure::errno_error("write", path_, ENOSPC));
            return written;
        }
        Result<void> sync() override {
            if (auto failed = env_.enter(EnvOp::sync, path_, true))
                return tl::make_unexpected(*failed);
            auto synced = inner_->sync();
            if (synced) {
                std::lock_guard lock{env_.mutex_};
                auto& state = env_.files_[path_.string()];
                state.synced_bytes = state.written_bytes;
            }
            return synced;
        }
        Result<void> close() override {
            auto closed = inner_->close();
            if (auto failed = env_.enter(EnvOp::close, path_)) return tl::make_unexpected(*failed);
            return closed;
        }

    private:
        FaultyEnv& env_;
        std::filesystem::path path_;
        std::unique_ptr<infrastructure::WritableFile> inner_;
    };

    // Counts the call and decides whether it fails.
    std::optional<Error> enter(EnvOp op,
                               const std::filesystem::path& path,
                               bool is_barrier = false) {
        std::function<void(const std::filesystem::path&)> hook;
        {
            std::lock_guard lock{mutex_};
            if (const auto found = hooks_.find(op); found != hooks_.end()) hook = found->second;
        }
        if (hook) hook(path);
        std::lock_guard lock{mutex_};
        ++calls_;
        if (is_barrier) ++barriers_;
        if ((crash_at_call_ && calls_ >= *crash_at_call_) ||
            (is_barrier && crash_at_barrier_ && barriers_ >= *crash_at_barrier_)) {
            is_dead_ = true;
        }
        if (is_dead_) return infrastructure::errno_error(to_string(op), path, EIO);
        if (const auto found = permanent_.find(op); found != permanent_.end()) {
            return infrastructure::errno_error(to_string(op), path, found->second);
        }
        for (auto it = faults_.begin(); it != faults_.end(); ++it) {
            if (it->op != op) continue;
            if (it->skip-- > 0) continue;
            const int error_number = it->error_number;
            faults_.erase(it);
            return infrastructure::errno_error(to_string(op), path, error_number);
        }
        return std::nullopt;
    }

    static void write_whole(const std::filesystem::path& path, const std::string& bytes) {
        std::ofstream out{path, std::ios::binary | std::ios::trunc};
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }

    infrastructure::Env& base_;
    mutable std::mutex mutex_;
    std::vector<Fault> faults_;
    std::map<EnvOp, int> permanent_;
    std::map<EnvOp, std::function<void(const std::filesystem::path&)>> hooks_;
    bool short_write_ = false;
    std::optional<std::uint64_t> crash_at_call_;
    std::optional<std::uint64_t> crash_at_barrier_;
    bool is_dead_ = false;
    std::uint64_t calls_ = 0;
    std::uint64_t barriers_ = 0;
    std::map<std::string, FileState> files_;
    std::vector<DirChange> journal_;
};

}  // namespace nexu::testing
