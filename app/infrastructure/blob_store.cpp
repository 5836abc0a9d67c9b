#include "infrastructure/blob_store.hpp"

#include <algorithm>
#include <charconv>

namespace nexu::infrastructure {

namespace {

// "NXB1" | key id u32 | chunk bytes u32 | chunks per segment u32, little-endian.
constexpr std::string_view kMagic = "NXB1";
constexpr std::size_t kFileHeaderBytes = 16;
constexpr std::size_t kStreamHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kChunkOverheadBytes = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr std::string_view kRetiredDir = "retired";
constexpr std::string_view kBlobSuffix = ".nxb";
constexpr std::size_t kNameBytes = 16;  // 128 random bits: 32 hex characters

void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xffU);
}

std::uint32_t get_u32(std::string_view bytes, std::size_t at) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        value |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    }
    return value;
}

std::string random_name() {
    unsigned char bytes[kNameBytes];
    randombytes_buf(bytes, sizeof bytes);
    return to_hex(bytes, sizeof bytes);
}

// Binds every chunk of a segment to the blob's name, its layout, key and
// position: a segment moved to another blob or place never authenticates.
std::string segment_identity(std::string_view name,
                             std::uint32_t key_id,
                             std::size_t chunk_bytes,
                             std::size_t chunks_per_segment,
                             std::uint64_t segment) {
    std::string out = "nexu-blob|1|";
    out += name;
    out += '|';
    out += std::to_string(key_id);
    out += '|';
    out += std::to_string(chunk_bytes);
    out += '|';
    out += std::to_string(chunks_per_segment);
    out += '|';
    out += std::to_string(segment);
    return out;
}

std::uint64_t chunk_count_for(std::uint64_t size_bytes, std::size_t chunk_bytes) {
    if (size_bytes == 0) return 1;  // one empty final chunk
    return (size_bytes + chunk_bytes - 1) / chunk_bytes;
}

std::uint64_t expected_file_bytes(std::uint64_t size_bytes,
                                  std::size_t chunk_bytes,
                                  std::size_t chunks_per_segment) {
    const auto chunks = chunk_count_for(size_bytes, chunk_bytes);
    const auto segments = (chunks + chunks_per_segment - 1) / chunks_per_segment;
    return kFileHeaderBytes + segments * kStreamHeaderBytes + chunks * kChunkOverheadBytes +
           size_bytes;
}

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// ---------------------------------------------------------------- writer

BlobWriter::BlobWriter(BlobWriter&& other) noexcept
    : env_(other.env_),
      crypto_(other.crypto_),
      blobs_dir_(std::move(other.blobs_dir_)),
      shard_dir_(std::move(other.shard_dir_)),
      temp_path_(std::move(other.temp_path_)),
      name_(std::move(other.name_)),
      key_id_(other.key_id_),
      chunk_bytes_(other.chunk_bytes_),
      chunks_per_segment_(other.chunks_per_segment_),
      file_(std::move(other.file_)),
      sealer_(std::move(other.sealer_)),
      segment_(other.segment_),
      chunks_in_segment_(other.chunks_in_segment_),
      pending_(std::move(other.pending_)),
      size_bytes_(other.size_bytes_),
      sha256_(other.sha256_),
      is_done_(other.is_done_) {
    other.is_done_ = true;  // the moved-from writer owns no file any more
    other.file_.reset();
}

BlobWriter::~BlobWriter() {
    discard();
}

void BlobWriter::discard() noexcept {
    if (is_done_) return;
    is_done_ = true;
    if (file_) {
        (void)file_->close();
        file_.reset();
    }
    if (env_ != nullptr && !temp_path_.empty()) (void)env_->remove(temp_path_);
    if (!pending_.empty()) sodium_memzero(pending_.data(), pending_.size());
}

Result<void> BlobWriter::write(std::string_view bytes) {
    if (is_done_) return fail(Errc::invalid_argument, "blob writer already finished");
    while (!bytes.empty()) {
        // A full chunk is held back until more data arrives: only then do we
        // know it is not the last one (the last carries the final tag).
        if (pending_.size() == chunk_bytes_) {
            if (auto pushed = push_chunk(false); !pushed) {
                discard();
                return pushed;
            }
        }
        const auto take = std::min(chunk_bytes_ - pending_.size(), bytes.size());
        pending_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
    }
    return {};
}

Result<void> BlobWriter::push_chunk(bool is_last) {
    if (chunks_in_segment_ == chunks_per_segment_) {
        ++segment_;
        auto sealer = StreamSealer::start(
            *crypto_, KeyPurpose::files, key_id_,
            segment_identity(name_, key_id_, chunk_bytes_, chunks_per_segment_, segment_));
        if (!sealer) return tl::make_unexpected(sealer.error());
        sealer_.emplace(std::move(*sealer));
        if (auto written = file_->append(sealer_->header()); !written) return written;
        chunks_in_segment_ = 0;
    }
    crypto_hash_sha256_update(&sha256_, reinterpret_cast<const unsigned char*>(pending_.data()),
                              pending_.size());
    const auto sealed = sealer_->push(pending_, is_last);
    size_bytes_ += pending_.size();
    pending_.clear();
    ++chunks_in_segment_;
    return file_->append(sealed);
}

Result<StoredBlob> BlobWriter::commit() {
    if (is_done_) return fail(Errc::invalid_argument, "blob writer already finished");
    auto outcome = [&]() -> Result<void> {
        if (auto pushed = push_chunk(true); !pushed) return pushed;
        if (auto synced = file_->sync(); !synced) return synced;
        auto closed = file_->close();
        file_.reset();
        if (!closed) return closed;
        // The name is ours alone (128 random bits), so rename cannot replace
        // another blob; the directory fsync makes the name durable.
        if (auto renamed =
                env_->rename(temp_path_, shard_dir_ / (name_ + std::string{kBlobSuffix}));
            !renamed) {
            return renamed;
        }
        temp_path_.clear();
        if (auto synced = env_->sync_dir(shard_dir_); !synced) return synced;
        // The shard directory may be new: its own entry must be durable too.
        return env_->sync_dir(blobs_dir_);
    }();
    if (!outcome) {
        const auto final_path = shard_dir_ / (name_ + std::string{kBlobSuffix});
        discard();
        // A failed directory sync leaves a name nobody will ever reference.
        if (temp_path_.empty()) (void)env_->remove(final_path);
        return tl::make_unexpected(outcome.error());
    }
    is_done_ = true;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&sha256_, digest);
    return StoredBlob{name_, size_bytes_, to_hex(digest, sizeof digest)};
}

// ---------------------------------------------------------------- reader

std::uint64_t BlobReader::chunk_offset(std::uint64_t chunk) const {
    const auto segment = chunk / chunks_per_segment_;
    const auto within = chunk % chunks_per_segment_;
    const auto segment_bytes =
        kStreamHeaderBytes + chunks_per_segment_ * (chunk_bytes_ + kChunkOverheadBytes);
    return kFileHeaderBytes + segment * segment_bytes + kStreamHeaderBytes +
           within * (chunk_bytes_ + kChunkOverheadBytes);
}

Result<void> BlobReader::start_segment(std::uint64_t segment) {
    const auto first_chunk = segment * chunks_per_segment_;
    const auto header_at = chunk_offset(first_chunk) - kStreamHeaderBytes;
    auto header = env_->read_range(path_, header_at, kStreamHeaderBytes);
    if (!header) return tl::make_unexpected(header.error());
    if (header->size() != kStreamHeaderBytes) {
        return fail(Errc::corrupt_object, "blob " + name_ + " truncated in a segment header");
    }
    auto opener = StreamOpener::start(
        *crypto_, KeyPurpose::files, key_id_, *header,
        segment_identity(name_, key_id_, chunk_bytes_, chunks_per_segment_, segment));
    if (!opener) return tl::make_unexpected(opener.error());
    opener_.emplace(std::move(*opener));
    opener_segment_ = segment;
    next_chunk_ = first_chunk;
    return {};
}

Result<std::string> BlobReader::next() {
    if (position_ >= end_) return std::string{};
    const auto wanted_chunk = position_ / chunk_bytes_;
    const auto segment = wanted_chunk / chunks_per_segment_;
    while (true) {
        // Chunks before the one we want inside its segment are opened and
        // dropped: the stream state depends on them.
        if (!opener_ || opener_segment_ != segment || next_chunk_ > wanted_chunk) {
            if (auto started = start_segment(segment); !started) {
                return tl::make_unexpected(started.error());
            }
        }
        const auto chunk = next_chunk_;
        const bool is_last = chunk + 1 == chunk_count_;
        const std::uint64_t plain_bytes =
            is_last ? size_bytes_ - chunk * chunk_bytes_ : std::uint64_t{chunk_bytes_};
        auto sealed = env_->read_range(path_, chunk_offset(chunk),
                                       static_cast<std::size_t>(plain_bytes) + kChunkOverheadBytes);
        if (!sealed) return tl::make_unexpected(sealed.error());
        if (sealed->size() != plain_bytes + kChunkOverheadBytes) {
            return fail(Errc::corrupt_object, "blob " + name_ + " truncated");
        }
        auto plain = opener_->pull(*sealed);
        if (!plain) {
            plain.error().context += " (blob " + name_ + ")";
            return tl::make_unexpected(plain.error());
        }
        ++next_chunk_;
        const bool ends_segment = next_chunk_ % chunks_per_segment_ == 0;
        if (is_last) {
            if (auto finished = opener_->finish(); !finished) {
                return fail(Errc::corrupt_object, "blob " + name_ + " has no final chunk");
            }
        } else if (ends_segment && opener_->finish()) {
            return fail(Errc::corrupt_object, "blob " + name_ + " ends early");
        }
        if (chunk < wanted_chunk) {
            sodium_memzero(plain->data(), plain->size());
            continue;
        }
        const auto chunk_start = chunk * chunk_bytes_;
        const auto from = static_cast<std::size_t>(position_ - chunk_start);
        const auto to =
            static_cast<std::size_t>(std::min<std::uint64_t>(end_ - chunk_start, plain->size()));
        if (from != 0 || to != plain->size()) {
            std::string piece = plain->substr(from, to - from);
            sodium_memzero(plain->data(), plain->size());
            *plain = std::move(piece);
        }
        position_ += plain->size();
        return std::move(*plain);
    }
}

// ---------------------------------------------------------------- store

BlobStore::BlobStore(Env& env,
                     std::filesystem::path blobs_dir,
                     const Crypto& crypto,
                     BlobSettings settings)
    : env_(env), blobs_dir_(std::move(blobs_dir)), crypto_(crypto), settings_(settings) {}

Result<std::unique_ptr<BlobStore>> BlobStore::open(Env& env,
                                                   const std::filesystem::path& data_dir,
                                                   const Crypto& crypto,
                                                   BlobSettings settings) {
    if (settings.chunk_bytes == 0 || settings.chunk_bytes > 0xffffffffU ||
        settings.chunks_per_segment == 0 || settings.chunks_per_segment > 0xffffffffU) {
        return fail(Errc::invalid_argument, "bad blob chunk settings");
    }
    const auto blobs_dir = data_dir / kDirName;
    if (auto made = env.make_dir(blobs_dir); !made) return tl::make_unexpected(made.error());
    if (auto made = env.make_dir(blobs_dir / kRetiredDir); !made) {
        return tl::make_unexpected(made.error());
    }
    if (auto synced = env.sync_dir(blobs_dir); !synced) return tl::make_unexpected(synced.error());
    if (auto synced = env.sync_dir(data_dir); !synced) return tl::make_unexpected(synced.error());
    return std::unique_ptr<BlobStore>{new BlobStore(env, blobs_dir, crypto, settings)};
}

bool BlobStore::is_valid_blob_name(std::string_view name) {
    if (name.size() != 2 * kNameBytes) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::filesystem::path BlobStore::path_of(std::string_view name) const {
    std::string file{name};
    file += kBlobSuffix;
    return blobs_dir_ / std::string{name.substr(0, 2)} / file;
}

Result<BlobWriter> BlobStore::create() const {
    BlobWriter writer;
    writer.env_ = &env_;
    writer.crypto_ = &crypto_;
    writer.blobs_dir_ = blobs_dir_;
    writer.name_ = random_name();
    writer.shard_dir_ = blobs_dir_ / writer.name_.substr(0, 2);
    writer.key_id_ = crypto_.current_key_id();
    writer.chunk_bytes_ = settings_.chunk_bytes;
    writer.chunks_per_segment_ = settings_.chunks_per_segment;
    writer.pending_.reserve(settings_.chunk_bytes);
    crypto_hash_sha256_init(&writer.sha256_);
    if (auto made = env_.make_dir(writer.shard_dir_); !made) {
        writer.is_done_ = true;
        return tl::make_unexpected(made.error());
    }
    std::string temp{kTempPrefix};
    temp += writer.name_;
    writer.temp_path_ = writer.shard_dir_ / temp;
    auto file = env_.create_file(writer.temp_path_);
    if (!file) {
        writer.is_done_ = true;
        return tl::make_unexpected(file.error());
    }
    writer.file_ = std::move(*file);

    std::string header{kMagic};
    put_u32(header, writer.key_id_);
    put_u32(header, static_cast<std::uint32_t>(writer.chunk_bytes_));
    put_u32(header, static_cast<std::uint32_t>(writer.chunks_per_segment_));
    auto sealer =
        StreamSealer::start(crypto_, KeyPurpose::files, writer.key_id_,
                            segment_identity(writer.name_, writer.key_id_, writer.chunk_bytes_,
                                             writer.chunks_per_segment_, 0));
    if (!sealer) return tl::make_unexpected(sealer.error());
    writer.sealer_.emplace(std::move(*sealer));
    header += writer.sealer_->header();
    if (auto written = writer.file_->append(header); !written) {
        return tl::make_unexpected(written.error());
    }
    return writer;
}

Result<BlobReader> BlobStore::open_range(std::string_view name,
                                         std::uint64_t size_bytes,
                                         std::uint64_t offset,
                                         std::uint64_t length) const {
    if (!is_valid_blob_name(name)) {
        return fail(Errc::corrupt_object, "bad blob name in metadata");
    }
    if (offset > size_bytes || length > size_bytes - offset) {
        return fail(Errc::invalid_argument, "range outside the blob");
    }
    BlobReader reader;
    reader.env_ = &env_;
    reader.crypto_ = &crypto_;
    reader.path_ = path_of(name);
    reader.name_ = std::string{name};
    auto header = env_.read_range(reader.path_, 0, kFileHeaderBytes);
    if (!header) return tl::make_unexpected(header.error());
    if (header->size() != kFileHeaderBytes || std::string_view{*header}.substr(0, 4) != kMagic) {
        return fail(Errc::corrupt_object, "blob " + reader.name_ + " has a bad header");
    }
    reader.key_id_ = get_u32(*header, 4);
    reader.chunk_bytes_ = get_u32(*header, 8);
    reader.chunks_per_segment_ = get_u32(*header, 12);
    if (reader.chunk_bytes_ == 0 || reader.chunks_per_segment_ == 0) {
        return fail(Errc::corrupt_object, "blob " + reader.name_ + " has a bad layout");
    }
    // The size comes from the encrypted metadata: a blob cut short (or grown)
    // is caught here, before any byte of a response is sent.
    auto info = env_.stat(reader.path_);
    if (!info) return tl::make_unexpected(info.error());
    if (info->size_bytes !=
        expected_file_bytes(size_bytes, reader.chunk_bytes_, reader.chunks_per_segment_)) {
        return fail(Errc::corrupt_object, "blob " + reader.name_ + " has the wrong size");
    }
    reader.size_bytes_ = size_bytes;
    reader.chunk_count_ = chunk_count_for(size_bytes, reader.chunk_bytes_);
    reader.position_ = offset;
    reader.end_ = offset + length;
    return reader;
}

Result<void> BlobStore::retire(std::string_view name) const {
    if (!is_valid_blob_name(name)) return fail(Errc::invalid_argument, "bad blob name");
    // The marker's name carries the time and the blob; any instance's
    // collect_garbage() acts on it. Losing it (a crash) leaks space, nothing else.
    std::string marker = std::to_string(unix_ms_now());
    marker += '-';
    marker += name;
    auto file = env_.create_file(blobs_dir_ / kRetiredDir / marker);
    if (!file) return tl::make_unexpected(file.error());
    return (*file)->close();
}

Result<void> BlobStore::remove_now(std::string_view name) const {
    if (!is_valid_blob_name(name)) return fail(Errc::invalid_argument, "bad blob name");
    auto removed = env_.remove(path_of(name));
    if (!removed && removed.error().code != Errc::not_found) return removed;
    return {};
}

Result<std::size_t> BlobStore::collect_garbage() const {
    std::size_t removed = 0;
    const auto now_ms = unix_ms_now();
    const auto retired_dir = blobs_dir_ / kRetiredDir;
    auto markers = env_.list_dir(retired_dir);
    if (!markers) return tl::make_unexpected(markers.error());
    for (const auto& marker : *markers) {
        const auto dash = marker.find('-');
        if (dash == std::string::npos) continue;
        std::int64_t retired_ms = 0;
        const auto [end, ec] = std::from_chars(marker.data(), marker.data() + dash, retired_ms);
        const auto name = std::string_view{marker}.substr(dash + 1);
        if (ec != std::errc{} || end != marker.data() + dash || !is_valid_blob_name(name)) continue;
        if (now_ms - retired_ms < settings_.retire_grace.count()) continue;
        auto gone = env_.remove(path_of(name));
        if (!gone && gone.error().code != Errc::not_found) continue;
        if (gone) ++removed;
        (void)env_.remove(retired_dir / marker);
    }
    // Temp files of uploads abandoned by a crash; judged by their mtime.
    auto shards = env_.list_dir(blobs_dir_);
    if (!shards) return tl::make_unexpected(shards.error());
    const auto now_s = now_ms / 1000;
    for (const auto& shard : *shards) {
        if (shard.size() != 2 || shard == kRetiredDir) continue;
        auto names = env_.list_dir(blobs_dir_ / shard);
        if (!names) continue;
        for (const auto& name : *names) {
            if (!is_temp_name(name)) continue;
            const auto path = blobs_dir_ / shard / name;
            auto info = env_.stat(path);
            if (!info) continue;
            if ((now_s - info->modified_unix_s) * 1000 < settings_.temp_grace.count()) continue;
            if (env_.remove(path)) ++removed;
        }
    }
    return removed;
}

Result<std::size_t> BlobStore::remove_unreferenced(
    const std::function<bool(std::string_view name)>& is_referenced) const {
    std::size_t removed = 0;
    const auto now_s = unix_ms_now() / 1000;
    auto shards = env_.list_dir(blobs_dir_);
    if (!shards) return tl::make_unexpected(shards.error());
    for (const auto& shard : *shards) {
        if (shard.size() != 2 || shard == kRetiredDir) continue;
        auto names = env_.list_dir(blobs_dir_ / shard);
        if (!names) continue;
        for (const auto& file : *names) {
            if (!file.ends_with(kBlobSuffix)) continue;
            const auto name = std::string_view{file}.substr(0, file.size() - kBlobSuffix.size());
            if (!is_valid_blob_name(name) || is_referenced(name)) continue;
            const auto path = blobs_dir_ / shard / file;
            auto info = env_.stat(path);
            if (!info) continue;
            if ((now_s - info->modified_unix_s) * 1000 < settings_.orphan_grace.count()) continue;
            if (env_.remove(path)) ++removed;
        }
    }
    return removed;
}

}  // namespace nexu::infrastructure
