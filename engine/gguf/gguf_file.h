// Read-only view of a GGUF (v2/v3) model file: metadata key/values and tensor descriptors whose
// data pointers point into a read-only mmap of the file (or an owned buffer for tests).
//
// Open()/FromBuffer() validate the whole header up front, so every later accessor is cheap and
// can not read outside the mapping. After construction a GgufFile is immutable: all const
// methods are thread-safe. Tensor data pointers stay valid for the lifetime of the GgufFile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/gguf/gguf_types.h"
#include "engine/tensor/tensor_type.h"

namespace baton::engine::gguf {

struct TensorInfo {
  std::string name;
  TensorType type;
  // GGUF order: dims[0] is the row length (contiguous elements); 1 to 4 dims, each > 0.
  std::vector<int64_t> dims;
  // Points into the file. Its file offset is a multiple of alignment(); Open() maps the file
  // page-aligned so the pointer is aligned too (FromBuffer() gives no such guarantee).
  const uint8_t* data = nullptr;
  size_t size_bytes = 0;          // RowBytes(type, dims[0]) * row_count()
  size_t offset = 0;              // relative to the start of the data section

  int64_t num_elements() const;
  int64_t row_count() const { return num_elements() / dims[0]; }
};

// Where a metadata value lives in the file; only meaningful to GgufFile.
struct MetadataEntry {
  ValueType type;
  ValueType array_type;  // element type when type == kArray
  uint64_t count;        // array length when type == kArray
  size_t value_offset;   // file offset of the scalar value or of the first array element
};

class GgufFile {
 public:
  // Maps `path` read-only and validates it. Errors: kNotFound / kPermissionDenied / kInternal
  // when the file can not be opened or mapped; kDataLoss when the bytes are truncated, point
  // out of bounds, overflow or lack the magic; kInvalidArgument when a field holds a value this
  // reader does not accept (unknown type, version, misalignment, duplicate names). The message
  // names the offending field.
  static absl::StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Same validation over an in-memory copy that the GgufFile owns (for tests and tools).
  static absl::StatusOr<std::unique_ptr<GgufFile>> FromBuffer(std::string bytes);

  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  // File offset of the tensor data section and the total file size.
  size_t data_offset() const { return data_offset_; }
  size_t file_size() const { return size_; }

  // Metadata getters. Missing key -> kNotFound; a value of the wrong type -> kInvalidArgument
  // naming the key; a value that does not fit the result type -> kOutOfRange.
  bool Has(std::string_view key) const;
  absl::StatusOr<ValueType> GetType(std::string_view key) const;
  absl::StatusOr<std::string> GetString(std::string_view key) const;
  absl::StatusOr<int64_t> GetInt(std::string_view key) const;   // any integer type
  absl::StatusOr<double> GetFloat(std::string_view key) const;  // f32, f64 or any integer
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  // Element type and length of an array value (kInvalidArgument if not an array).
  absl::StatusOr<std::pair<ValueType, uint64_t>> GetArrayInfo(std::string_view key) const;
  absl::StatusOr<std::vector<std::string>> GetStringArray(std::string_view key) const;
  // f32/f64 (or integer) elements converted to float.
  absl::StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;
  // Any integer element type; kOutOfRange if an element does not fit in int32.
  absl::StatusOr<std::vector<int32_t>> GetIntArray(std::string_view key) const;

  // Tensor lookup; nullptr when absent.
  const TensorInfo* FindTensor(std::string_view name) const;
  // All tensors in file order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // Metadata keys in file order.
  std::vector<std::string> MetadataKeys() const { return keys_; }

  // Drops the mapped pages wholly inside [begin, begin + bytes) from this process's resident
  // memory (a caller that copied them elsewhere); reading them later maps them in again from
  // the page cache, with the same bytes. Does nothing for FromBuffer files.
  void ReleasePages(const void* begin, size_t bytes) const;

 private:
  class Parser;
  GgufFile() = default;
  static absl::StatusOr<std::unique_ptr<GgufFile>> Parse(std::unique_ptr<GgufFile> file);
  absl::StatusOr<const MetadataEntry*> Find(std::string_view key) const;
  absl::StatusOr<const MetadataEntry*> FindArray(std::string_view key) const;
  // Reads the scalar of `type` at `offset` (validated) as an integer or double.
  absl::StatusOr<int64_t> ReadInt(std::string_view key, ValueType type, size_t offset) const;
  absl::StatusOr<double> ReadFloat(std::string_view key, ValueType type, size_t offset) const;
  std::string_view ReadString(size_t offset, size_t* next) const;

  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // munmap'ed in the destructor when non-null
  size_t mapping_size_ = 0;
  std::string owned_;  // backing bytes for FromBuffer

  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  size_t data_offset_ = 0;
  std::vector<std::string> keys_;
  absl::flat_hash_map<std::string, MetadataEntry> metadata_;
  std::vector<TensorInfo> tensors_;
  absl::flat_hash_map<std::string, size_t> tensor_index_;
};

}  // namespace baton::engine::gguf
