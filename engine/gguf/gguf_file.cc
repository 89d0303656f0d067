#include "engine/gguf/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "absl/status/status.h"
#include "common/status_macros.h"

namespace baton::engine::gguf {
namespace {

// Smallest encodings, used to reject absurd counts before allocating anything for them.
constexpr size_t kMinMetadataEntryBytes = 8 + 4 + 1;            // empty key, type, 1-byte value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;        // empty name, 1 dim
constexpr int kMaxArrayNesting = 3;
constexpr uint64_t kMaxAlignment = uint64_t{1} << 30;

template <typename T>
T LoadLe(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the file is little-endian, as is every target we build for
  return v;
}

// Error message builder; Debian's absl::StrCat does not take std::string_view.
template <typename... Args>
std::string Msg(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Debian's abseil has its own string_view type; the maps are keyed through it.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

int64_t TensorInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // validated not to overflow at load
  return n;
}

// Bounds-checked cursor over the file bytes. Every read checks the remaining length first.
class GgufFile::Parser {
 public:
  static std::string Of(std::string_view subject) {
    return subject.empty() ? std::string() : Msg(" of '", subject, "'");
  }

  Parser(const uint8_t* base, size_t size) : base_(base), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  // `what` names the field, `subject` (optional) the key or tensor it belongs to.
  absl::Status Need(size_t n, std::string_view what, std::string_view subject = {}) const {
    if (remaining() < n) {
      return absl::DataLossError(Msg("GGUF truncated: ", what, Of(subject), " needs ", n,
                                              " bytes at offset ", pos_, ", file has ", size_));
    }
    return absl::OkStatus();
  }

  template <typename T>
  absl::StatusOr<T> Read(std::string_view what, std::string_view subject = {}) {
    RETURN_IF_ERROR(Need(sizeof(T), what, subject));
    T v = LoadLe<T>(base_ + pos_);
    pos_ += sizeof(T);
    return v;
  }

  absl::StatusOr<std::string_view> ReadString(std::string_view what,
                                              std::string_view subject = {}) {
    ASSIGN_OR_RETURN(const uint64_t len, Read<uint64_t>(what, subject));
    if (len > remaining()) {
      return absl::DataLossError(Msg("GGUF truncated: ", what, Of(subject), " has length ", len,
                                              " at offset ", pos_ - 8, " but only ",
                                              remaining(), " bytes follow"));
    }
    std::string_view s(reinterpret_cast<const char*>(base_ + pos_), len);
    pos_ += len;
    return s;
  }

  // Skips `count` values of `type` (elements of an array when count comes from one).
  absl::Status SkipValues(uint32_t type, uint64_t count, std::string_view key, int depth) {
    if (!IsKnownValueType(type)) {
      return absl::InvalidArgumentError(
          Msg("GGUF metadata '", key, "' has unknown value type ", type));
    }
    if (std::optional<uint32_t> size = FixedValueSize(type)) {
      if (count > remaining() / *size) {
        return absl::DataLossError(Msg("GGUF truncated: metadata '", key, "' needs ",
                                                count, " values of ", *size, " bytes at offset ",
                                                pos_, ", file has ", size_));
      }
      pos_ += count * *size;
      return absl::OkStatus();
    }
    // Strings and nested arrays are at least 8 bytes (a length or a type + count) each.
    if (count > remaining() / 8) {
      return absl::DataLossError(Msg("GGUF truncated: metadata '", key, "' claims ",
                                              count, " elements at offset ", pos_));
    }
    for (uint64_t i = 0; i < count; ++i) {
      if (type == static_cast<uint32_t>(ValueType::kString)) {
        RETURN_IF_ERROR(ReadString("string element", key).status());
        continue;
      }
      if (depth >= kMaxArrayNesting) {
        return absl::InvalidArgumentError(
            Msg("GGUF metadata '", key, "' nests arrays too deeply"));
      }
      ASSIGN_OR_RETURN(const uint32_t elem, Read<uint32_t>("nested array type", key));
      ASSIGN_OR_RETURN(const uint64_t n, Read<uint64_t>("nested array length", key));
      RETURN_IF_ERROR(SkipValues(elem, n, key, depth + 1));
    }
    return absl::OkStatus();
  }

 private:
  const uint8_t* base_;
  size_t size_;
  size_t pos_ = 0;
};

GgufFile::~GgufFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string msg = Msg("open ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::InternalError(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::InternalError(Msg("fstat ", path, ": ", std::strerror(err)));
  }
  auto file = std::unique_ptr<GgufFile>(new GgufFile());
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return absl::InternalError(Msg("mmap ", path, ": ", std::strerror(err)));
    }
    file->mapping_ = p;
    file->mapping_size_ = size;
    file->base_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  file->size_ = size;
  auto parsed = Parse(std::move(file));
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        Msg(path, ": ", parsed.status().message()));
  }
  return parsed;
}

void GgufFile::ReleasePages(const void* begin, size_t bytes) const {
  if (mapping_ == nullptr || bytes == 0) return;
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page * page;
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(begin) + bytes) / page * page;
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::FromBuffer(std::string bytes) {
  auto file = std::unique_ptr<GgufFile>(new GgufFile());
  file->owned_ = std::move(bytes);
  file->base_ = reinterpret_cast<const uint8_t*>(file->owned_.data());
  file->size_ = file->owned_.size();
  return Parse(std::move(file));
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Parse(std::unique_ptr<GgufFile> file) {
  Parser p(file->base_, file->size_);
  ASSIGN_OR_RETURN(const uint32_t magic, p.Read<uint32_t>("magic"));
  if (magic != kGgufMagic) {
    return absl::DataLossError(Msg("not a GGUF file: bad magic 0x", std::hex, magic));
  }
  ASSIGN_OR_RETURN(file->version_, p.Read<uint32_t>("version"));
  if (file->version_ != 2 && file->version_ != 3) {
    return absl::InvalidArgumentError(
        Msg("unsupported GGUF version ", file->version_, " (want 2 or 3)"));
  }
  ASSIGN_OR_RETURN(const uint64_t tensor_count, p.Read<uint64_t>("tensor_count"));
  ASSIGN_OR_RETURN(const uint64_t kv_count, p.Read<uint64_t>("metadata_kv_count"));
  if (kv_count > p.remaining() / kMinMetadataEntryBytes) {
    return absl::DataLossError(
        Msg("GGUF metadata_kv_count ", kv_count, " does not fit in the file"));
  }
  if (tensor_count > p.remaining() / kMinTensorInfoBytes) {
    return absl::DataLossError(
        Msg("GGUF tensor_count ", tensor_count, " does not fit in the file"));
  }

  file->keys_.reserve(kv_count);
  for (uint64_t i = 0; i < kv_count; ++i) {
    ASSIGN_OR_RETURN(const std::string_view key,
                     p.ReadString("metadata key", Msg("#", i)));
    ASSIGN_OR_RETURN(const uint32_t type, p.Read<uint32_t>("type", key));
    MetadataEntry entry{};
    if (!IsKnownValueType(type)) {
      return absl::InvalidArgumentError(
          Msg("GGUF metadata '", key, "' has unknown value type ", type));
    }
    entry.type = static_cast<ValueType>(type);
    if (entry.type == ValueType::kArray) {
      ASSIGN_OR_RETURN(const uint32_t elem,
                       p.Read<uint32_t>("array type", key));
      ASSIGN_OR_RETURN(entry.count, p.Read<uint64_t>("array length", key));
      entry.array_type = static_cast<ValueType>(elem);
      entry.value_offset = p.pos();
      RETURN_IF_ERROR(p.SkipValues(elem, entry.count, key, 1));
    } else {
      entry.value_offset = p.pos();
      RETURN_IF_ERROR(p.SkipValues(type, 1, key, 0));
    }
    auto [it, inserted] = file->metadata_.emplace(std::string(key), entry);
    if (!inserted) {
      return absl::InvalidArgumentError(Msg("GGUF metadata key '", key, "' repeats"));
    }
    file->keys_.emplace_back(key);
  }

  if (file->Has(kAlignmentKey)) {
    auto alignment = file->GetInt(kAlignmentKey);
    if (!alignment.ok()) return alignment.status();
    if (*alignment <= 0 || static_cast<uint64_t>(*alignment) > kMaxAlignment ||
        (*alignment & (*alignment - 1)) != 0) {
      return absl::InvalidArgumentError(
          Msg("GGUF ", kAlignmentKey, " ", *alignment, " is not a power of two"));
    }
    file->alignment_ = static_cast<uint32_t>(*alignment);
  }

  file->tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    TensorInfo t;
    ASSIGN_OR_RETURN(const std::string_view name, p.ReadString("tensor name", Msg("#", i)));
    t.name = std::string(name);
    ASSIGN_OR_RETURN(const uint32_t n_dims, p.Read<uint32_t>("n_dims", name));
    if (n_dims < 1 || n_dims > 4) {
      return absl::InvalidArgumentError(
          Msg("GGUF tensor '", name, "' has n_dims ", n_dims, " (want 1..4)"));
    }
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      ASSIGN_OR_RETURN(const uint64_t dim,
                       p.Read<uint64_t>("dim", name));
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return absl::InvalidArgumentError(
            Msg("GGUF tensor '", name, "' dim ", d, " is ", dim));
      }
      if (__builtin_mul_overflow(elements, static_cast<int64_t>(dim), &elements)) {
        return absl::DataLossError(
            Msg("GGUF tensor '", name, "' element count overflows"));
      }
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    ASSIGN_OR_RETURN(const uint32_t type_id, p.Read<uint32_t>("tensor type", name));
    const std::optional<TensorTypeTraits> traits = FindTensorTypeTraits(type_id);
    if (!traits) {
      return absl::InvalidArgumentError(
          Msg("GGUF tensor '", name, "' has unknown or unsupported type ", type_id));
    }
    t.type = traits->type;
    if (t.dims[0] % traits->block_elements != 0) {
      return absl::InvalidArgumentError(
          Msg("GGUF tensor '", name, "' row length ", t.dims[0],
                       " is not a multiple of the ", traits->name, " block size ",
                       traits->block_elements));
    }
    const uint64_t blocks = static_cast<uint64_t>(elements / traits->block_elements);
    uint64_t size_bytes;
    if (__builtin_mul_overflow(blocks, static_cast<uint64_t>(traits->block_bytes), &size_bytes)) {
      return absl::DataLossError(Msg("GGUF tensor '", name, "' byte size overflows"));
    }
    t.size_bytes = size_bytes;
    ASSIGN_OR_RETURN(const uint64_t offset, p.Read<uint64_t>("tensor offset", name));
    if (offset % file->alignment_ != 0) {
      return absl::InvalidArgumentError(Msg("GGUF tensor '", name, "' offset ", offset,
                                                     " is not aligned to ", file->alignment_));
    }
    t.offset = offset;
    if (!file->tensor_index_.emplace(t.name, file->tensors_.size()).second) {
      return absl::InvalidArgumentError(Msg("GGUF tensor name '", name, "' repeats"));
    }
    file->tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment after the tensor infos.
  const uint64_t align = file->alignment_;
  file->data_offset_ = (p.pos() + align - 1) / align * align;  // pos <= size, no overflow
  if (file->tensors_.empty()) return file;
  if (file->data_offset_ > file->size_) {
    return absl::DataLossError(Msg("GGUF truncated: data section starts at ",
                                            file->data_offset_, " past the end ", file->size_));
  }
  const uint64_t data_bytes = file->size_ - file->data_offset_;
  for (TensorInfo& t : file->tensors_) {
    if (t.offset > data_bytes || t.size_bytes > data_bytes - t.offset) {
      return absl::DataLossError(Msg("GGUF tensor '", t.name, "' data [", t.offset, ", +",
                                              t.size_bytes, ") lies past the end of the ",
                                              data_bytes, "-byte data section"));
    }
    t.data = file->base_ + file->data_offset_ + t.offset;
  }
  std::vector<size_t> order(file->tensors_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return file->tensors_[a].offset < file->tensors_[b].offset;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo& prev = file->tensors_[order[i - 1]];
    const TensorInfo& cur = file->tensors_[order[i]];
    if (prev.offset + prev.size_bytes > cur.offset) {
      return absl::DataLossError(Msg("GGUF tensors '", prev.name, "' and '", cur.name,
                                              "' overlap"));
    }
  }
  return file;
}

bool GgufFile::Has(std::string_view key) const { return metadata_.contains(AbslView(key)); }

absl::StatusOr<const MetadataEntry*> GgufFile::Find(std::string_view key) const {
  auto it = metadata_.find(AbslView(key));
  if (it == metadata_.end()) {
    return absl::NotFoundError(Msg("GGUF metadata key '", key, "' not found"));
  }
  return &it->second;
}

absl::StatusOr<const MetadataEntry*> GgufFile::FindArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, Find(key));
  if (e->type != ValueType::kArray) {
    return absl::InvalidArgumentError(Msg("GGUF metadata '", key, "' is ",
                                                   ValueTypeName(e->type), ", not an array"));
  }
  return e;
}

static absl::Status WrongType(std::string_view key, ValueType have, std::string_view want) {
  return absl::InvalidArgumentError(Msg("GGUF metadata '", key, "' is ",
                                                 ValueTypeName(have), ", not ", want));
}

absl::StatusOr<ValueType> GgufFile::GetType(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, Find(key));
  return e->type;
}

std::string_view GgufFile::ReadString(size_t offset, size_t* next) const {
  const uint64_t len = LoadLe<uint64_t>(base_ + offset);  // validated at load
  *next = offset + 8 + len;
  return std::string_view(reinterpret_cast<const char*>(base_ + offset + 8), len);
}

absl::StatusOr<int64_t> GgufFile::ReadInt(std::string_view key, ValueType type,
                                          size_t offset) const {
  const uint8_t* p = base_ + offset;
  switch (type) {
    case ValueType::kUint8: return LoadLe<uint8_t>(p);
    case ValueType::kInt8: return LoadLe<int8_t>(p);
    case ValueType::kUint16: return LoadLe<uint16_t>(p);
    case ValueType::kInt16: return LoadLe<int16_t>(p);
    case ValueType::kUint32: return LoadLe<uint32_t>(p);
    case ValueType::kInt32: return LoadLe<int32_t>(p);
    case ValueType::kInt64: return LoadLe<int64_t>(p);
    case ValueType::kUint64: {
      const uint64_t v = LoadLe<uint64_t>(p);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return absl::OutOfRangeError(
            Msg("GGUF metadata '", key, "' value ", v, " does not fit in int64"));
      }
      return static_cast<int64_t>(v);
    }
    default:
      return WrongType(key, type, "an integer");
  }
}

absl::StatusOr<double> GgufFile::ReadFloat(std::string_view key, ValueType type,
                                           size_t offset) const {
  if (type == ValueType::kFloat32) return LoadLe<float>(base_ + offset);
  if (type == ValueType::kFloat64) return LoadLe<double>(base_ + offset);
  if (type == ValueType::kUint64) return static_cast<double>(LoadLe<uint64_t>(base_ + offset));
  if (IsIntegerValueType(type)) {
    ASSIGN_OR_RETURN(const int64_t v, ReadInt(key, type, offset));
    return static_cast<double>(v);
  }
  return WrongType(key, type, "a number");
}

absl::StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, Find(key));
  if (e->type != ValueType::kString) return WrongType(key, e->type, "string");
  size_t next;
  return std::string(ReadString(e->value_offset, &next));
}

absl::StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, Find(key));
  return ReadInt(key, e->type, e->value_offset);
}

absl::StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, Find(key));
  return ReadFloat(key, e->type, e->value_offset);
}

absl::StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, Find(key));
  if (e->type != ValueType::kBool) return WrongType(key, e->type, "bool");
  return base_[e->value_offset] != 0;
}

absl::StatusOr<std::pair<ValueType, uint64_t>> GgufFile::GetArrayInfo(
    std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, FindArray(key));
  return std::make_pair(e->array_type, e->count);
}

absl::StatusOr<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, FindArray(key));
  if (e->array_type != ValueType::kString) return WrongType(key, e->array_type, "string array");
  std::vector<std::string> out;
  out.reserve(e->count);
  size_t offset = e->value_offset;
  for (uint64_t i = 0; i < e->count; ++i) out.emplace_back(ReadString(offset, &offset));
  return out;
}

absl::StatusOr<std::vector<float>> GgufFile::GetFloatArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, FindArray(key));
  const std::optional<uint32_t> size = FixedValueSize(static_cast<uint32_t>(e->array_type));
  if (!size || e->array_type == ValueType::kBool) {
    return WrongType(key, e->array_type, "numeric array");
  }
  std::vector<float> out(e->count);
  for (uint64_t i = 0; i < e->count; ++i) {
    ASSIGN_OR_RETURN(const double v, ReadFloat(key, e->array_type, e->value_offset + i * *size));
    out[i] = static_cast<float>(v);
  }
  return out;
}

absl::StatusOr<std::vector<int32_t>> GgufFile::GetIntArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const MetadataEntry* e, FindArray(key));
  if (!IsIntegerValueType(e->array_type)) return WrongType(key, e->array_type, "integer array");
  const uint32_t size = *FixedValueSize(static_cast<uint32_t>(e->array_type));
  std::vector<int32_t> out(e->count);
  for (uint64_t i = 0; i < e->count; ++i) {
    ASSIGN_OR_RETURN(const int64_t v, ReadInt(key, e->array_type, e->value_offset + i * size));
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      return absl::OutOfRangeError(
          Msg("GGUF metadata '", key, "' element ", i, " = ", v, " exceeds int32"));
    }
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(AbslView(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace baton::engine::gguf
