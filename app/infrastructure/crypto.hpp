#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <sodium.h>

#include "domain/error.hpp"
#include "infrastructure/secret_key.hpp"

namespace nexu::infrastructure {

// What a subkey is for; each purpose has its own crypto_kdf context, so a key
// for tokens can never open a document.
enum class KeyPurpose { documents, files, tokens, manifests, lookups };

// The process's key material: the master key (from NEXU_KEY_FILE) and the
// subkeys derived from it with crypto_kdf_derive_from_key (context per purpose,
// subkey id = key version). Every sealed object names its key id, so rotation
// re-encrypts in the background while old ids stay readable.
//
// Thread-safe. Subkeys are derived on first use (under a lock, published
// through atomics, never freed before the Crypto): any version up to
// kMaxKeyVersion opens, so files another instance sealed under a version this
// process has not made current yet still read. Which version seals new objects
// (current_key_id) and which versions are retired is runtime state, changed by
// key rotation (infrastructure/key_versions.hpp) through the const setters
// below: the key material itself never changes. Keys (and the retained master
// key) are wiped when the Crypto is destroyed. Creating one also disables core
// dumps.
class Crypto {
public:
    static constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    static constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
    static constexpr std::size_t kSealOverheadBytes = kNonceBytes + kTagBytes;

    static constexpr std::uint32_t kMaxKeyVersion = 4096;

    // Keeps the master key to derive subkeys on demand. Errc::unavailable if
    // libsodium does not initialise.
    static Result<std::unique_ptr<Crypto>> create(SecretKey master,
                                                  std::uint32_t current_key_id = 1);
    // Loads NEXU_KEY_FILE (load_master_key: mode 0600, 64 hex characters) and
    // creates the Crypto; the error names the setting.
    static Result<std::unique_ptr<Crypto>> from_key_file(const std::filesystem::path& key_file);

    Crypto(const Crypto&) = delete;
    Crypto& operator=(const Crypto&) = delete;
    ~Crypto();

    std::uint32_t current_key_id() const noexcept {
        return current_key_id_.load(std::memory_order_acquire);
    }
    // Key rotation: from now on new objects are sealed with `key_id`. Only
    // moves forward (a smaller id is ignored); Errc::invalid_argument beyond
    // kMaxKeyVersion or for a retired version.
    Result<void> set_current_key_id(std::uint32_t key_id) const;
    // Retires `key_id` for the stored-object purposes (documents, files,
    // manifests): seal, open and subkey refuse it afterwards. Tokens and
    // lookups are not stored objects and keep every version. The current
    // version cannot be retired.
    Result<void> retire_key_id(std::uint32_t key_id) const;
    bool is_retired(KeyPurpose purpose, std::uint32_t key_id) const noexcept;

    // XChaCha20-Poly1305 with a random nonce: returns nonce || ciphertext || tag.
    // `associated` binds the object to its identity (format, collection, id,
    // revision or seq, key id); open() with any other identity fails.
    Result<std::string> seal(KeyPurpose purpose,
                             std::uint32_t key_id,
                             std::string_view plaintext,
                             std::string_view associated) const;
    // Appends the sealed form to `out` (no extra copy on the commit path).
    Result<void> seal_into(std::string& out,
                           KeyPurpose purpose,
                           std::uint32_t key_id,
                           std::string_view plaintext,
                           std::string_view associated) const;
    // Errc::corrupt_object when authentication fails; Errc::invalid_argument
    // for an unknown key id.
    Result<std::string> open(KeyPurpose purpose,
                             std::uint32_t key_id,
                             std::string_view sealed,
                             std::string_view associated) const;

    // Keyed BLAKE2b-128 of `text` as 32 hex characters, under key version 1 of
    // `purpose`: stable names for lookups (usernames, e-mail addresses, token
    // hashes) that reveal nothing to someone reading the data directory. Always
    // version 1, so the names survive key rotation.
    std::string keyed_hash(KeyPurpose purpose, std::string_view text) const;

    // The raw subkey for a purpose (for secretstream); nullptr if unknown
    // (0, beyond kMaxKeyVersion) or retired.
    const SecretKey* subkey(KeyPurpose purpose, std::uint32_t key_id) const noexcept;

private:
    static constexpr std::size_t kPurposes = 5;
    Crypto() = default;
    const SecretKey* derive(KeyPurpose purpose, std::uint32_t key_id) const noexcept;

    SecretKey master_;
    mutable std::atomic<std::uint32_t> current_key_id_{1};
    // Slot [purpose][version]: nullptr until derived; set once under derive_mutex_.
    std::unique_ptr<std::array<std::atomic<const SecretKey*>, kPurposes*(kMaxKeyVersion + 1)>>
        slots_;
    std::unique_ptr<std::array<std::atomic<bool>, kMaxKeyVersion + 1>> retired_;
    mutable std::mutex derive_mutex_;
    mutable std::vector<std::unique_ptr<SecretKey>> derived_;  // owns what slots_ point to
};

// Streamed encryption of large blobs (crypto_secretstream_xchacha20poly1305):
// a header, then one sealed chunk per push; the last chunk carries the FINAL
// tag, and a reader that never sees it reports truncation.
class StreamSealer {
public:
    static Result<StreamSealer> start(const Crypto& crypto,
                                      KeyPurpose purpose,
                                      std::uint32_t key_id,
                                      std::string_view associated);
    // The stream header, to be stored before the first chunk.
    const std::string& header() const { return header_; }
    // Seals one chunk; `is_last` marks the end of the stream.
    std::string push(std::string_view chunk, bool is_last);
    // Sealed chunk size for a plaintext chunk of `bytes`.
    static constexpr std::size_t sealed_size(std::size_t bytes) {
        return bytes + crypto_secretstream_xchacha20poly1305_ABYTES;
    }

private:
    crypto_secretstream_xchacha20poly1305_state state_{};
    std::string header_;
    std::string associated_;
};

class StreamOpener {
public:
    static Result<StreamOpener> start(const Crypto& crypto,
                                      KeyPurpose purpose,
                                      std::uint32_t key_id,
                                      std::string_view header,
                                      std::string_view associated);
    // Opens one sealed chunk; Errc::corrupt_object if it fails, or if a chunk
    // follows the final one.
    Result<std::string> pull(std::string_view sealed_chunk);
    // Errc::corrupt_object unless the final chunk was seen: truncation.
    Result<void> finish() const;

private:
    crypto_secretstream_xchacha20poly1305_state state_{};
    std::string associated_;
    bool saw_final_ = false;
};

// setrlimit(RLIMIT_CORE, 0): key material must not end up in a core file.
void disable_core_dumps() noexcept;

// Lower-case hex of `size` bytes (sodium_bin2hex): digests, random names.
std::string to_hex(const unsigned char* bytes, std::size_t size);

}  // namespace nexu::infrastructure
