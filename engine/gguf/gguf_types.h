// GGUF format constants shared by the reader and the writer: the metadata value type ids and
// the fixed header fields. Plain constants: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace baton::engine::gguf {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr std::string_view kAlignmentKey = "general.alignment";

enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// Size in bytes of a fixed-size value type; nullopt for kString, kArray and unknown ids.
inline std::optional<uint32_t> FixedValueSize(uint32_t type_id) {
  switch (static_cast<ValueType>(type_id)) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    default:
      return std::nullopt;
  }
}

inline bool IsKnownValueType(uint32_t type_id) { return type_id <= 12; }

inline bool IsIntegerValueType(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kUint16:
    case ValueType::kInt16:
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kUint64:
    case ValueType::kInt64:
      return true;
    default:
      return false;
  }
}

std::string_view ValueTypeName(ValueType t);

}  // namespace baton::engine::gguf
