#include "infrastructure/storage_format.hpp"

#include <charconv>
#include <cstring>

namespace nexu::infrastructure::storage_format {

namespace {

constexpr std::string_view kCommitMagic = "NXL1";
constexpr std::string_view kSegmentMagic = "NXS1";
constexpr std::string_view kIndexMagic = "NXI1";
constexpr std::string_view kKeyCheckMagic = "NXK1";
constexpr std::size_t kFileHeaderBytes = 16;  // magic, key id, seq

void put_u8(std::string& out, std::uint8_t value) {
    out.push_back(static_cast<char>(value));
}
void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
void put_bytes(std::string& out, std::string_view bytes) {
    put_u32(out, static_cast<std::uint32_t>(bytes.size()));
    out.append(bytes);
}

// Reads little-endian fields from untrusted (already authenticated) bytes;
// every read is bounds-checked and sets `ok` false past the end.
class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == bytes_.size(); }
    std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(take(4)); }
    std::uint64_t u64() { return take(8); }
    std::string_view bytes(std::size_t length) {
        if (!ok_ || bytes_.size() - pos_ < length) {
            ok_ = false;
            return {};
        }
        const auto out = bytes_.substr(pos_, length);
        pos_ += length;
        return out;
    }
    std::string_view sized() { return bytes(u32()); }

private:
    std::uint64_t take(std::size_t n) {
        const auto raw = bytes(n);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            value |= std::uint64_t{static_cast<unsigned char>(raw[i])} << (8 * i);
        }
        return value;
    }
    std::string_view bytes_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

std::string digits(std::uint64_t value, int width) {
    std::string text = std::to_string(value);
    if (static_cast<int>(text.size()) < width) {
        text.insert(0, static_cast<std::size_t>(width) - text.size(), '0');
    }
    return text;
}

std::optional<std::uint64_t> parse_digits(std::string_view text, std::size_t width) {
    if (text.size() != width) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// (format version, purpose, collection, ...) as unambiguous length-prefixed bytes.
std::string associated(std::string_view purpose, std::string_view collection) {
    std::string ad;
    put_u32(ad, kFormatVersion);
    put_bytes(ad, purpose);
    put_bytes(ad, collection);
    return ad;
}

std::string file_header(std::string_view magic, std::uint32_t key_id, std::uint64_t seq) {
    std::string out{magic};
    put_u32(out, key_id);
    put_u64(out, seq);
    return out;
}

struct FileHeader {
    std::uint32_t key_id;
    std::uint64_t seq;
};

Result<FileHeader> parse_header(std::string_view bytes, std::string_view magic) {
    if (bytes.size() < kFileHeaderBytes || bytes.substr(0, 4) != magic) {
        return fail(Errc::corrupt_object, "bad file header");
    }
    Reader reader{bytes.substr(4, 12)};
    FileHeader header{reader.u32(), reader.u64()};
    return header;
}

void encode_record(std::string& out, const Record& record) {
    put_u8(out, static_cast<std::uint8_t>(record.op));
    put_u64(out, record.rev);
    put_bytes(out, record.id);
    put_bytes(out, record.body);
}

bool decode_record(Reader& reader, Record& record) {
    const auto op = reader.u8();
    if (op < 1 || op > 3) return false;
    record.op = static_cast<RecordOp>(op);
    record.rev = reader.u64();
    record.id = std::string{reader.sized()};
    record.body = std::string{reader.sized()};
    return reader.ok();
}

}  // namespace

std::string commit_file_name(std::uint64_t first_seq) {
    return digits(first_seq, 20) + ".nxl";
}
std::string checkpoint_index_name(std::uint64_t seq) {
    return digits(seq, 20) + ".nxi";
}
std::string segment_name(std::uint64_t checkpoint_seq, std::uint32_t part) {
    return digits(checkpoint_seq, 20) + "-" + digits(part, 6) + ".nxs";
}
std::string appended_id(std::uint64_t seq) {
    return digits(seq, 20);
}

std::optional<ParsedName> parse_file_name(std::string_view name) {
    if (name.size() == 24 && name.ends_with(".nxl")) {
        if (auto seq = parse_digits(name.substr(0, 20), 20))
            return ParsedName{FileKind::commit, *seq};
    }
    if (name.size() == 24 && name.ends_with(".nxi")) {
        if (auto seq = parse_digits(name.substr(0, 20), 20)) {
            return ParsedName{FileKind::checkpoint_index, *seq};
        }
    }
    if (name.size() == 31 && name.ends_with(".nxs") && name[20] == '-') {
        auto seq = parse_digits(name.substr(0, 20), 20);
        auto part = parse_digits(name.substr(21, 6), 6);
        if (seq && part) {
            return ParsedName{FileKind::segment, *seq, static_cast<std::uint32_t>(*part)};
        }
    }
    return std::nullopt;
}

bool is_valid_collection_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool is_valid_document_id(std::string_view id) {
    return !id.empty() && id.size() <= 512 && id.find('\0') == std::string_view::npos &&
           id.find('/') == std::string_view::npos;
}

Result<std::string> encode_commit_file(const Crypto& crypto,
                                       std::string_view collection,
                                       std::uint64_t first_seq,
                                       const std::vector<const Record*>& records) {
    std::string plain;
    put_u32(plain, static_cast<std::uint32_t>(records.size()));
    for (const Record* record : records) encode_record(plain, *record);
    const auto key_id = crypto.current_key_id();
    auto ad = associated("log", collection);
    put_u64(ad, first_seq);
    put_u32(ad, key_id);
    std::string out = file_header(kCommitMagic, key_id, first_seq);
    auto sealed = crypto.seal_into(out, KeyPurpose::documents, key_id, plain, ad);
    sodium_memzero(plain.data(), plain.size());
    if (!sealed) return tl::make_unexpected(sealed.error());
    return out;
}

Result<std::vector<Record>> decode_commit_file(const Crypto& crypto,
                                               std::string_view collection,
                                               std::uint64_t first_seq,
                                               std::string_view bytes) {
    auto header = parse_header(bytes, kCommitMagic);
    if (!header) return tl::make_unexpected(header.error());
    if (header->seq != first_seq) return fail(Errc::corrupt_object, "commit file seq mismatch");
    auto ad = associated("log", collection);
    put_u64(ad, first_seq);
    put_u32(ad, header->key_id);
    auto plain =
        crypto.open(KeyPurpose::documents, header->key_id, bytes.substr(kFileHeaderBytes), ad);
    if (!plain) return tl::make_unexpected(plain.error());
    Reader reader{*plain};
    const auto count = reader.u32();
    std::vector<Record> records;
    if (count == 0 || count > plain->size()) return fail(Errc::corrupt_object, "bad record count");
    records.resize(count);
    for (auto& record : records) {
        if (!decode_record(reader, record)) return fail(Errc::corrupt_object, "bad record");
    }
    sodium_memzero(plain->data(), plain->size());
    if (!reader.at_end()) return fail(Errc::corrupt_object, "trailing bytes in commit file");
    return records;
}

std::string segment_header(std::uint32_t key_id) {
    std::string out{kSegmentMagic};
    put_u32(out, key_id);
    return out;
}

std::uint32_t stored_key_id(std::string_view bytes) {
    if (bytes.size() < 8) return 0;
    Reader reader{bytes.substr(4, 4)};
    return reader.u32();
}

Result<std::uint32_t> segment_key_id(std::string_view header) {
    if (header.size() < kSegmentHeaderBytes || header.substr(0, 4) != kSegmentMagic) {
        return fail(Errc::corrupt_object, "bad segment header");
    }
    Reader reader{header.substr(4, 4)};
    return reader.u32();
}

namespace {
std::string document_ad(std::string_view collection,
                        std::string_view id,
                        std::uint64_t rev,
                        std::uint64_t seq,
                        std::uint32_t key_id) {
    auto ad = associated("doc", collection);
    put_bytes(ad, id);
    put_u64(ad, rev);
    put_u64(ad, seq);
    put_u32(ad, key_id);
    return ad;
}
}  // namespace

Result<void> append_sealed_document(const Crypto& crypto,
                                    std::uint32_t key_id,
                                    std::string& segment,
                                    std::string_view collection,
                                    std::string_view id,
                                    std::uint64_t rev,
                                    std::uint64_t seq,
                                    std::string_view body) {
    const auto length_at = segment.size();
    put_u32(segment, 0);
    auto sealed = crypto.seal_into(segment, KeyPurpose::documents, key_id, body,
                                   document_ad(collection, id, rev, seq, key_id));
    if (!sealed) return sealed;
    const auto length = static_cast<std::uint32_t>(segment.size() - length_at - 4);
    for (int i = 0; i < 4; ++i) {
        segment[length_at + static_cast<std::size_t>(i)] =
            static_cast<char>((length >> (8 * i)) & 0xff);
    }
    return {};
}

Result<std::string> open_sealed_document(const Crypto& crypto,
                                         std::uint32_t key_id,
                                         std::string_view framed,
                                         std::string_view collection,
                                         std::string_view id,
                                         std::uint64_t rev,
                                         std::uint64_t seq) {
    Reader reader{framed};
    const auto sealed = reader.sized();
    if (!reader.ok() || !reader.at_end()) return fail(Errc::corrupt_object, "bad document frame");
    return crypto.open(KeyPurpose::documents, key_id, sealed,
                       document_ad(collection, id, rev, seq, key_id));
}

Result<std::string> encode_checkpoint_index(const Crypto& crypto,
                                            std::string_view collection,
                                            const CheckpointIndex& index) {
    std::string plain;
    put_u32(plain, static_cast<std::uint32_t>(index.segment_bytes.size()));
    for (const auto size : index.segment_bytes) put_u64(plain, size);
    put_u64(plain, index.entries.size());
    for (const auto& entry : index.entries) {
        put_bytes(plain, entry.id);
        put_u64(plain, entry.rev);
        put_u64(plain, entry.seq);
        put_u8(plain, entry.is_deleted ? 1 : 0);
        put_u32(plain, entry.part);
        put_u64(plain, entry.offset);
        put_u32(plain, entry.length);
    }
    const auto key_id = crypto.current_key_id();
    auto ad = associated("index", collection);
    put_u64(ad, index.seq);
    put_u32(ad, key_id);
    std::string out = file_header(kIndexMagic, key_id, index.seq);
    auto sealed = crypto.seal_into(out, KeyPurpose::documents, key_id, plain, ad);
    sodium_memzero(plain.data(), plain.size());
    if (!sealed) return tl::make_unexpected(sealed.error());
    return out;
}

Result<CheckpointIndex> decode_checkpoint_index(const Crypto& crypto,
                                                std::string_view collection,
                                                std::uint64_t seq,
                                                std::string_view bytes) {
    auto header = parse_header(bytes, kIndexMagic);
    if (!header) return tl::make_unexpected(header.error());
    if (header->seq != seq) return fail(Errc::corrupt_object, "checkpoint seq mismatch");
    auto ad = associated("index", collection);
    put_u64(ad, seq);
    put_u32(ad, header->key_id);
    auto plain =
        crypto.open(KeyPurpose::documents, header->key_id, bytes.substr(kFileHeaderBytes), ad);
    if (!plain) return tl::make_unexpected(plain.error());
    Reader reader{*plain};
    CheckpointIndex index;
    index.seq = seq;
    const auto segments = reader.u32();
    if (segments > plain->size()) return fail(Errc::corrupt_object, "bad segment count");
    for (std::uint32_t i = 0; i < segments; ++i) index.segment_bytes.push_back(reader.u64());
    const auto count = reader.u64();
    if (count > plain->size()) return fail(Errc::corrupt_object, "bad entry count");
    index.entries.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count && reader.ok(); ++i) {
        IndexEntry entry;
        entry.id = std::string{reader.sized()};
        entry.rev = reader.u64();
        entry.seq = reader.u64();
        entry.is_deleted = reader.u8() != 0;
        entry.part = reader.u32();
        entry.offset = reader.u64();
        entry.length = reader.u32();
        index.entries.push_back(std::move(entry));
    }
    if (!reader.ok() || !reader.at_end()) return fail(Errc::corrupt_object, "bad checkpoint index");
    return index;
}

std::string encode_current(std::uint64_t seq) {
    return std::to_string(seq) + "\n";
}

std::optional<std::uint64_t> decode_current(std::string_view text) {
    // Exactly "<digits>\n": a cut or altered pointer must not parse.
    if (!text.ends_with('\n')) return std::nullopt;
    text.remove_suffix(1);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

Result<std::string> encode_key_check(const Crypto& crypto, std::string_view directory_id) {
    const auto key_id = crypto.current_key_id();
    auto ad = associated("keycheck", "");
    put_u32(ad, key_id);
    std::string out = file_header(kKeyCheckMagic, key_id, 0);
    auto sealed = crypto.seal_into(out, KeyPurpose::documents, key_id, directory_id, ad);
    if (!sealed) return tl::make_unexpected(sealed.error());
    return out;
}

Result<std::string> decode_key_check(const Crypto& crypto, std::string_view bytes) {
    auto header = parse_header(bytes, kKeyCheckMagic);
    if (!header) return tl::make_unexpected(header.error());
    if (header->seq != 0) return fail(Errc::corrupt_object, "bad key check header");
    auto ad = associated("keycheck", "");
    put_u32(ad, header->key_id);
    return crypto.open(KeyPurpose::documents, header->key_id, bytes.substr(kFileHeaderBytes), ad);
}

}  // namespace nexu::infrastructure::storage_format
