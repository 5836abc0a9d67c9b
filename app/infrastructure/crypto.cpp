#include "infrastructure/crypto.hpp"

#include <sys/resource.h>

#include "infrastructure/master_key.hpp"

namespace nexu::infrastructure {

namespace {

// crypto_kdf contexts are exactly 8 characters; one per purpose.
const char* context_of(KeyPurpose purpose) {
    switch (purpose) {
        case KeyPurpose::documents:
            return "nexudocs";
        case KeyPurpose::files:
            return "nexufile";
        case KeyPurpose::tokens:
            return "nexutokn";
        case KeyPurpose::manifests:
            return "nexumani";
        case KeyPurpose::lookups:
            return "nexulook";
    }
    return "nexuunkn";
}

const unsigned char* bytes_of(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

void disable_core_dumps() noexcept {
    struct rlimit none {};
    ::setrlimit(RLIMIT_CORE, &none);
}

Result<std::unique_ptr<Crypto>> Crypto::create(SecretKey master, std::uint32_t current_key_id) {
    if (sodium_init() < 0) return fail(Errc::unavailable, "libsodium failed to initialise");
    if (current_key_id == 0 || current_key_id > kMaxKeyVersion)
        return fail(Errc::invalid_argument,
                    "key id must be in 1.." + std::to_string(kMaxKeyVersion));
    disable_core_dumps();
    std::unique_ptr<Crypto> crypto{new Crypto()};
    crypto->master_ = std::move(master);
    crypto->current_key_id_.store(current_key_id);
    crypto->slots_ = std::make_unique<
        std::array<std::atomic<const SecretKey*>, kPurposes*(kMaxKeyVersion + 1)>>();
    for (auto& slot : *crypto->slots_) slot.store(nullptr, std::memory_order_relaxed);
    crypto->retired_ = std::make_unique<std::array<std::atomic<bool>, kMaxKeyVersion + 1>>();
    for (auto& flag : *crypto->retired_) flag.store(false, std::memory_order_relaxed);
    // Versions 1..current are derived now: the hot path never takes the lock.
    for (const auto purpose : {KeyPurpose::documents, KeyPurpose::files, KeyPurpose::tokens,
                               KeyPurpose::manifests, KeyPurpose::lookups}) {
        for (std::uint32_t id = 1; id <= current_key_id; ++id) (void)crypto->derive(purpose, id);
    }
    return crypto;
}

const SecretKey* Crypto::derive(KeyPurpose purpose, std::uint32_t key_id) const noexcept {
    auto& slot = (*slots_)[static_cast<std::size_t>(purpose) * (kMaxKeyVersion + 1) + key_id];
    if (const auto* key = slot.load(std::memory_order_acquire)) return key;
    std::lock_guard lock{derive_mutex_};
    if (const auto* key = slot.load(std::memory_order_acquire)) return key;
    try {
        auto subkey = std::make_unique<SecretKey>();
        crypto_kdf_derive_from_key(subkey->data(), subkey->size(), key_id, context_of(purpose),
                                   master_.data());
        derived_.push_back(std::move(subkey));
    } catch (...) {
        return nullptr;  // out of memory: reported as an unknown key
    }
    const SecretKey* key = derived_.back().get();
    slot.store(key, std::memory_order_release);
    return key;
}

Result<void> Crypto::set_current_key_id(std::uint32_t key_id) const {
    if (key_id == 0 || key_id > kMaxKeyVersion)
        return fail(Errc::invalid_argument, "key id out of range " + std::to_string(key_id));
    if ((*retired_)[key_id].load(std::memory_order_acquire))
        return fail(Errc::invalid_argument, "key id " + std::to_string(key_id) + " is retired");
    for (const auto purpose : {KeyPurpose::documents, KeyPurpose::files, KeyPurpose::tokens,
                               KeyPurpose::manifests, KeyPurpose::lookups}) {
        if (derive(purpose, key_id) == nullptr) return fail(Errc::unavailable, "out of memory");
    }
    auto current = current_key_id_.load(std::memory_order_acquire);
    while (current < key_id &&
           !current_key_id_.compare_exchange_weak(current, key_id, std::memory_order_acq_rel)) {
    }
    return {};
}

Result<void> Crypto::retire_key_id(std::uint32_t key_id) const {
    if (key_id == 0 || key_id > kMaxKeyVersion)
        return fail(Errc::invalid_argument, "key id out of range " + std::to_string(key_id));
    if (key_id >= current_key_id())
        return fail(Errc::invalid_argument, "the current key version cannot be retired");
    (*retired_)[key_id].store(true, std::memory_order_release);
    return {};
}

bool Crypto::is_retired(KeyPurpose purpose, std::uint32_t key_id) const noexcept {
    if (purpose == KeyPurpose::tokens || purpose == KeyPurpose::lookups) return false;
    if (key_id == 0 || key_id > kMaxKeyVersion) return false;
    return (*retired_)[key_id].load(std::memory_order_acquire);
}

Result<std::unique_ptr<Crypto>> Crypto::from_key_file(const std::filesystem::path& key_file) {
    auto master = load_master_key(key_file);
    if (!master) return tl::make_unexpected(master.error());
    return create(std::move(*master));
}

Crypto::~Crypto() = default;  // SecretKey wipes itself

std::string Crypto::keyed_hash(KeyPurpose purpose, std::string_view text) const {
    constexpr std::size_t kHashBytes = 16;
    unsigned char hash[kHashBytes];
    const auto* key = derive(purpose, 1);  // never retired: lookups outlive rotations
    crypto_generichash(hash, kHashBytes, bytes_of(text), text.size(), key->data(), key->size());
    return to_hex(hash, kHashBytes);
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    std::string hex(size * 2 + 1, '\0');  // sodium_bin2hex writes a terminating NUL
    sodium_bin2hex(hex.data(), hex.size(), bytes, size);
    hex.pop_back();
    return hex;
}

const SecretKey* Crypto::subkey(KeyPurpose purpose, std::uint32_t key_id) const noexcept {
    if (key_id == 0 || key_id > kMaxKeyVersion) return nullptr;
    if (is_retired(purpose, key_id)) return nullptr;
    // A token names a version we issue with: one above the current version is
    // refused ("unknown kid"). Stored objects may carry one another instance
    // made current a moment before us, so they open with any version.
    if (purpose == KeyPurpose::tokens && key_id > current_key_id()) return nullptr;
    return derive(purpose, key_id);
}

Result<void> Crypto::seal_into(std::string& out,
                               KeyPurpose purpose,
                               std::uint32_t key_id,
                               std::string_view plaintext,
                               std::string_view associated) const {
    const SecretKey* key = subkey(purpose, key_id);
    if (key == nullptr)
        return fail(Errc::invalid_argument, "unknown key id " + std::to_string(key_id));
    const auto start = out.size();
    out.resize(start + kNonceBytes + plaintext.size() + kTagBytes);
    auto* nonce = reinterpret_cast<unsigned char*>(out.data() + start);
    randombytes_buf(nonce, kNonceBytes);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceBytes, &written, bytes_of(plaintext),
                                               plaintext.size(), bytes_of(associated),
                                               associated.size(), nullptr, nonce, key->data());
    return {};
}

Result<std::string> Crypto::seal(KeyPurpose purpose,
                                 std::uint32_t key_id,
                                 std::string_view plaintext,
                                 std::string_view associated) const {
    std::string out;
    if (auto sealed = seal_into(out, purpose, key_id, plaintext, associated); !sealed) {
        return tl::make_unexpected(sealed.error());
    }
    return out;
}

Result<std::string> Crypto::open(KeyPurpose purpose,
                                 std::uint32_t key_id,
                                 std::string_view sealed,
                                 std::string_view associated) const {
    const SecretKey* key = subkey(purpose, key_id);
    if (key == nullptr)
        return fail(Errc::corrupt_object, "unknown key id " + std::to_string(key_id));
    if (sealed.size() < kSealOverheadBytes)
        return fail(Errc::corrupt_object, "sealed object too short");
    std::string out(sealed.size() - kSealOverheadBytes, '\0');
    unsigned long long length = 0;
    const auto* nonce = bytes_of(sealed);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(out.data()), &length, nullptr, nonce + kNonceBytes,
            sealed.size() - kNonceBytes, bytes_of(associated), associated.size(), nonce,
            key->data()) != 0) {
        sodium_memzero(out.data(), out.size());
        return fail(Errc::corrupt_object, "authentication failed");
    }
    return out;
}

Result<StreamSealer> StreamSealer::start(const Crypto& crypto,
                                         KeyPurpose purpose,
                                         std::uint32_t key_id,
                                         std::string_view associated) {
    const SecretKey* key = crypto.subkey(purpose, key_id);
    if (key == nullptr)
        return fail(Errc::invalid_argument, "unknown key id " + std::to_string(key_id));
    StreamSealer sealer;
    sealer.header_.resize(crypto_secretstream_xchacha20poly1305_HEADERBYTES);
    crypto_secretstream_xchacha20poly1305_init_push(
        &sealer.state_, reinterpret_cast<unsigned char*>(sealer.header_.data()), key->data());
    sealer.associated_ = std::string{associated};
    return sealer;
}

std::string StreamSealer::push(std::string_view chunk, bool is_last) {
    std::string out(sealed_size(chunk.size()), '\0');
    unsigned long long written = 0;
    // The associated data goes with every chunk, so a chunk of another blob
    // never authenticates here.
    crypto_secretstream_xchacha20poly1305_push(
        &state_, reinterpret_cast<unsigned char*>(out.data()), &written, bytes_of(chunk),
        chunk.size(), bytes_of(associated_), associated_.size(),
        is_last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    out.resize(static_cast<std::size_t>(written));
    return out;
}

Result<StreamOpener> StreamOpener::start(const Crypto& crypto,
                                         KeyPurpose purpose,
                                         std::uint32_t key_id,
                                         std::string_view header,
                                         std::string_view associated) {
    const SecretKey* key = crypto.subkey(purpose, key_id);
    if (key == nullptr)
        return fail(Errc::corrupt_object, "unknown key id " + std::to_string(key_id));
    if (header.size() != crypto_secretstream_xchacha20poly1305_HEADERBYTES) {
        return fail(Errc::corrupt_object, "stream header has the wrong size");
    }
    StreamOpener opener;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&opener.state_, bytes_of(header),
                                                        key->data()) != 0) {
        return fail(Errc::corrupt_object, "stream header rejected");
    }
    opener.associated_ = std::string{associated};
    return opener;
}

Result<std::string> StreamOpener::pull(std::string_view sealed_chunk) {
    if (saw_final_) return fail(Errc::corrupt_object, "data after the final chunk");
    if (sealed_chunk.size() < crypto_secretstream_xchacha20poly1305_ABYTES) {
        return fail(Errc::corrupt_object, "stream chunk too short");
    }
    std::string out(sealed_chunk.size() - crypto_secretstream_xchacha20poly1305_ABYTES, '\0');
    unsigned long long length = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(
            &state_, reinterpret_cast<unsigned char*>(out.data()), &length, &tag,
            bytes_of(sealed_chunk), sealed_chunk.size(), bytes_of(associated_),
            associated_.size()) != 0) {
        return fail(Errc::corrupt_object, "stream chunk failed authentication");
    }
    out.resize(static_cast<std::size_t>(length));
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) saw_final_ = true;
    return out;
}

Result<void> StreamOpener::finish() const {
    if (!saw_final_) return fail(Errc::corrupt_object, "stream truncated: no final chunk");
    return {};
}

}  // namespace nexu::infrastructure
