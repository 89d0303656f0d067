// Builds a GGUF file in memory (or on disk): metadata of every value type, arrays included, and
// tensors of any supported type from raw bytes already in that type's block layout. Used by
// tests and tools (quantizers). Not thread-safe: one thread builds a writer, then serializes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/gguf/gguf_types.h"
#include "engine/tensor/tensor_type.h"

namespace baton::engine::gguf {

class GgufWriter {
 public:
  // `version` is written as is (2 or 3 for readable files); `alignment` is the data alignment
  // (written as general.alignment when it is not the default 32).
  explicit GgufWriter(uint32_t version = 3, uint32_t alignment = kDefaultAlignment);

  // Metadata setters; keys are written in call order. Setting a key twice writes it twice
  // (which readers reject), so callers set each key once.
  void SetUint8(std::string_view key, uint8_t v);
  void SetInt8(std::string_view key, int8_t v);
  void SetUint16(std::string_view key, uint16_t v);
  void SetInt16(std::string_view key, int16_t v);
  void SetUint32(std::string_view key, uint32_t v);
  void SetInt32(std::string_view key, int32_t v);
  void SetUint64(std::string_view key, uint64_t v);
  void SetInt64(std::string_view key, int64_t v);
  void SetFloat32(std::string_view key, float v);
  void SetFloat64(std::string_view key, double v);
  void SetBool(std::string_view key, bool v);
  void SetString(std::string_view key, std::string_view v);
  // An array of `count` fixed-size values of `elem_type` (not kString/kArray) whose little-endian
  // encodings are packed in `data` (count * FixedValueSize(elem_type) bytes).
  void SetArray(std::string_view key, ValueType elem_type, const void* data, uint64_t count);
  void SetStringArray(std::string_view key, const std::vector<std::string>& values);
  void SetInt32Array(std::string_view key, const std::vector<int32_t>& values);
  void SetFloat32Array(std::string_view key, const std::vector<float>& values);

  // Adds a tensor. `dims` in GGUF order (dims[0] = row length). `data` must hold exactly
  // RowBytes(type, dims[0]) * rows bytes. kInvalidArgument otherwise.
  absl::Status AddTensor(std::string_view name, TensorType type, const std::vector<int64_t>& dims,
                         std::string_view data);
  // Adds a tensor descriptor with arbitrary fields and no consistency checks, for tests that
  // build corrupt files. `data` is appended to the data section at the next aligned offset
  // unless `offset_override` is set, in which case that offset is written instead.
  void AddRawTensor(std::string_view name, uint32_t type_id, const std::vector<uint64_t>& dims,
                    std::string_view data, std::optional<uint64_t> offset_override = {});

  // The complete file.
  std::string Serialize() const;
  // Writes Serialize() to `path`; kInternal on I/O failure.
  absl::Status WriteFile(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    uint32_t type_id;
    std::vector<uint64_t> dims;
    uint64_t offset;
  };
  void Key(std::string_view key, ValueType type);

  uint32_t version_;
  uint32_t alignment_;
  uint64_t kv_count_ = 0;
  std::string metadata_;  // serialized key/value pairs
  std::vector<Tensor> tensors_;
  std::string data_;  // the data section
};

}  // namespace baton::engine::gguf
