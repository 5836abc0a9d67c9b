#include "infrastructure/password_hasher.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <stdexcept>

#include <sodium.h>

namespace nexu::infrastructure {

namespace {

void wipe(std::string& secret) {
    if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
    secret.clear();
}

}  // namespace

PasswordHasher::PasswordHasher(Settings settings) : settings_(settings) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    std::string random(32, '\0');
    randombytes_buf(random.data(), random.size());
    auto dummy = hash_now(random);
    wipe(random);
    if (!dummy) throw std::runtime_error("cannot hash with the configured Argon2 parameters");
    dummy_hash_ = std::move(*dummy);
    for (unsigned i = 0; i < settings_.threads; ++i)
        threads_.emplace_back([this] { run_worker(); });
}

PasswordHasher::~PasswordHasher() {
    std::deque<Job> cancelled;
    {
        std::lock_guard lock{mutex_};
        is_stopping_ = true;
        cancelled.swap(queue_);
    }
    wake_.notify_all();
    for (auto& thread : threads_) thread.join();
    for (auto& job : cancelled) job(true);
}

Result<std::string> PasswordHasher::hash_now(std::string_view password) const {
    char out[crypto_pwhash_STRBYTES] = {};
    if (crypto_pwhash_str(out, password.data(), password.size(), settings_.opslimit,
                          settings_.memlimit_bytes) != 0) {
        return fail(Errc::unavailable, "Argon2id ran out of memory");
    }
    return std::string{out};
}

bool PasswordHasher::verify_now(std::string_view stored_hash, std::string_view password) const {
    const std::string hash = stored_hash.empty() ? dummy_hash_ : std::string{stored_hash};
    const bool matches =
        crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
    return matches && !stored_hash.empty();
}

bool PasswordHasher::needs_rehash(std::string_view stored_hash) const {
    const std::string hash{stored_hash};
    return crypto_pwhash_str_needs_rehash(hash.c_str(), settings_.opslimit,
                                          settings_.memlimit_bytes) != 0;
}

bool PasswordHasher::hash(std::string password, HashDone done) {
    return submit(
        [this, password = std::move(password), done = std::move(done)](bool cancelled) mutable {
            if (cancelled) {
                wipe(password);
                return done(fail(Errc::unavailable, "password hashing stopped"));
            }
            auto result = hash_now(password);
            wipe(password);
            done(std::move(result));
        });
}

bool PasswordHasher::verify(std::string stored_hash, std::string password, VerifyDone done) {
    return submit([this, stored_hash = std::move(stored_hash), password = std::move(password),
                   done = std::move(done)](bool cancelled) mutable {
        const bool matches = !cancelled && verify_now(stored_hash, password);
        wipe(password);
        done(matches);
    });
}

bool PasswordHasher::submit(Job job) {
    {
        std::lock_guard lock{mutex_};
        if (is_stopping_ || queue_.size() >= settings_.max_waiting) return false;
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

std::size_t PasswordHasher::waiting() const {
    std::lock_guard lock{mutex_};
    return queue_.size();
}

void PasswordHasher::run_worker() {
    // Hashing yields the CPU to request handling: a login flood slows logins,
    // not every other request. Failure (no permission) only loses that.
    constexpr int kHashingNice = 10;
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kHashingNice);
    while (true) {
        Job job;
        {
            std::unique_lock lock{mutex_};
            wake_.wait(lock, [this] { return is_stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, nothing left
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job(false);
    }
}

}  // namespace nexu::infrastructure
