#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "domain/error.hpp"

namespace nexu::infrastructure {

// Argon2id password hashing (libsodium crypto_pwhash_str) on a bounded pool
// of its own, so hashing never runs on network or storage threads. Work waits
// in a queue of at most `max_waiting`; past that, submit returns false and the
// caller answers 503 with Retry-After. Thread-safe. Destruction finishes the
// job under way and answers the queued ones Errc::unavailable.
class PasswordHasher {
public:
    struct Settings {
        unsigned threads = 1;
        std::size_t max_waiting = 64;
        unsigned long long opslimit = 2;  // OWASP: t=2, m=19 MiB, p=1 at least
        std::size_t memlimit_bytes = 19 * 1024 * 1024;
    };
    using HashDone = std::function<void(Result<std::string>)>;
    using VerifyDone = std::function<void(bool matches)>;

    explicit PasswordHasher(Settings settings);
    ~PasswordHasher();
    PasswordHasher(const PasswordHasher&) = delete;
    PasswordHasher& operator=(const PasswordHasher&) = delete;

    // `done` runs on a hashing thread (or on the destroying thread with
    // Errc::unavailable). The password is wiped from memory after use.
    bool hash(std::string password, HashDone done);
    // An empty `stored_hash` (an unknown user) is checked against a dummy hash
    // of the same cost, so the answer takes as long as for a real account.
    bool verify(std::string stored_hash, std::string password, VerifyDone done);

    // Blocking forms, for nexuctl and start-up (the first admin).
    Result<std::string> hash_now(std::string_view password) const;
    bool verify_now(std::string_view stored_hash, std::string_view password) const;
    // True when `stored_hash` was made with other parameters than the current ones.
    bool needs_rehash(std::string_view stored_hash) const;

    std::size_t waiting() const;
    const Settings& settings() const { return settings_; }

private:
    using Job = std::function<void(bool cancelled)>;
    bool submit(Job job);
    void run_worker();

    Settings settings_;
    std::string dummy_hash_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    bool is_stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace nexu::infrastructure
