#include "engine/gguf/gguf_writer.h"

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace baton::engine::gguf {
namespace {

template <typename T>
void Put(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

void PutString(std::string* out, std::string_view s) {
  Put<uint64_t>(out, s.size());
  out->append(s);
}

void PadTo(std::string* out, uint64_t alignment) {
  out->resize((out->size() + alignment - 1) / alignment * alignment, '\0');
}

}  // namespace

GgufWriter::GgufWriter(uint32_t version, uint32_t alignment)
    : version_(version), alignment_(alignment) {
  if (alignment_ != kDefaultAlignment) SetUint32(kAlignmentKey, alignment_);
}

void GgufWriter::Key(std::string_view key, ValueType type) {
  ++kv_count_;
  PutString(&metadata_, key);
  Put<uint32_t>(&metadata_, static_cast<uint32_t>(type));
}

void GgufWriter::SetUint8(std::string_view k, uint8_t v) { Key(k, ValueType::kUint8); Put(&metadata_, v); }
void GgufWriter::SetInt8(std::string_view k, int8_t v) { Key(k, ValueType::kInt8); Put(&metadata_, v); }
void GgufWriter::SetUint16(std::string_view k, uint16_t v) { Key(k, ValueType::kUint16); Put(&metadata_, v); }
void GgufWriter::SetInt16(std::string_view k, int16_t v) { Key(k, ValueType::kInt16); Put(&metadata_, v); }
void GgufWriter::SetUint32(std::string_view k, uint32_t v) { Key(k, ValueType::kUint32); Put(&metadata_, v); }
void GgufWriter::SetInt32(std::string_view k, int32_t v) { Key(k, ValueType::kInt32); Put(&metadata_, v); }
void GgufWriter::SetUint64(std::string_view k, uint64_t v) { Key(k, ValueType::kUint64); Put(&metadata_, v); }
void GgufWriter::SetInt64(std::string_view k, int64_t v) { Key(k, ValueType::kInt64); Put(&metadata_, v); }
void GgufWriter::SetFloat32(std::string_view k, float v) { Key(k, ValueType::kFloat32); Put(&metadata_, v); }
void GgufWriter::SetFloat64(std::string_view k, double v) { Key(k, ValueType::kFloat64); Put(&metadata_, v); }
void GgufWriter::SetBool(std::string_view k, bool v) {
  Key(k, ValueType::kBool);
  Put<uint8_t>(&metadata_, v ? 1 : 0);
}
void GgufWriter::SetString(std::string_view k, std::string_view v) {
  Key(k, ValueType::kString);
  PutString(&metadata_, v);
}

void GgufWriter::SetArray(std::string_view key, ValueType elem_type, const void* data,
                          uint64_t count) {
  Key(key, ValueType::kArray);
  Put<uint32_t>(&metadata_, static_cast<uint32_t>(elem_type));
  Put<uint64_t>(&metadata_, count);
  const uint32_t size = FixedValueSize(static_cast<uint32_t>(elem_type)).value_or(0);
  metadata_.append(static_cast<const char*>(data), count * size);
}

void GgufWriter::SetStringArray(std::string_view key, const std::vector<std::string>& values) {
  Key(key, ValueType::kArray);
  Put<uint32_t>(&metadata_, static_cast<uint32_t>(ValueType::kString));
  Put<uint64_t>(&metadata_, values.size());
  for (const std::string& v : values) PutString(&metadata_, v);
}

void GgufWriter::SetInt32Array(std::string_view key, const std::vector<int32_t>& values) {
  SetArray(key, ValueType::kInt32, values.data(), values.size());
}

void GgufWriter::SetFloat32Array(std::string_view key, const std::vector<float>& values) {
  SetArray(key, ValueType::kFloat32, values.data(), values.size());
}

absl::Status GgufWriter::AddTensor(std::string_view name, TensorType type,
                                   const std::vector<int64_t>& dims, std::string_view data) {
  if (dims.empty() || dims.size() > 4) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", std::string(name), "' needs 1..4 dims"));
  }
  int64_t rows = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] <= 0) return absl::InvalidArgumentError(absl::StrCat("tensor '", std::string(name), "' dim <= 0"));
    if (i > 0) rows *= dims[i];
  }
  if (dims[0] % BlockElements(type) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", std::string(name), "' row length is not a multiple of the block size"));
  }
  const size_t want = RowBytes(type, dims[0]) * static_cast<size_t>(rows);
  if (data.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", std::string(name), "' has ", data.size(),
                                                   " bytes, its shape needs ", want));
  }
  std::vector<uint64_t> udims(dims.begin(), dims.end());
  AddRawTensor(name, static_cast<uint32_t>(type), udims, data);
  return absl::OkStatus();
}

void GgufWriter::AddRawTensor(std::string_view name, uint32_t type_id,
                              const std::vector<uint64_t>& dims, std::string_view data,
                              std::optional<uint64_t> offset_override) {
  PadTo(&data_, alignment_);
  const uint64_t offset = offset_override.value_or(data_.size());
  data_.append(data);
  tensors_.push_back(Tensor{std::string(name), type_id, dims, offset});
}

std::string GgufWriter::Serialize() const {
  std::string out;
  Put<uint32_t>(&out, kGgufMagic);
  Put<uint32_t>(&out, version_);
  Put<uint64_t>(&out, tensors_.size());
  Put<uint64_t>(&out, kv_count_);
  out.append(metadata_);
  for (const Tensor& t : tensors_) {
    PutString(&out, t.name);
    Put<uint32_t>(&out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) Put<uint64_t>(&out, d);
    Put<uint32_t>(&out, t.type_id);
    Put<uint64_t>(&out, t.offset);
  }
  if (!tensors_.empty()) {
    PadTo(&out, alignment_);
    out.append(data_);
  }
  return out;
}

absl::Status GgufWriter::WriteFile(const std::string& path) const {
  const std::string bytes = Serialize();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot create ", path));
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != bytes.size() || !closed) {
    return absl::InternalError(absl::StrCat("short write to ", path));
  }
  return absl::OkStatus();
}

}  // namespace baton::engine::gguf
