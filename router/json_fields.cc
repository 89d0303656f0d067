#include "router/json_fields.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace baton::router {
namespace {

using Json = nlohmann::json;

// This Abseil build's string_view is its own type, which StrCat and Cord insist on.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Where FieldError keeps the field's name in the status, so that the message stays readable
// text and the name need not be parsed back out of it.
constexpr absl::string_view kFieldPayloadUrl = "type.baton.dev/router.JsonField";

// The value of an integer JSON number, or nullopt for a non-integer or one beyond int64.
std::optional<int64_t> IntegerValue(const Json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    // Some clients serialize every number as a double ("max_tokens": 100.0).
    const double d = value.get<double>();
    if (d != std::trunc(d) || d < -0x1p63 || d >= 0x1p63) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Json> ParseJsonObject(std::string_view body) {
  Json parsed;
  try {
    parsed = Json::parse(body.begin(), body.end());
  } catch (const Json::exception& e) {
    // what() reads "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    absl::string_view reason = e.what();
    if (const size_t bracket = reason.find("] "); bracket != absl::string_view::npos) {
      reason.remove_prefix(bracket + 2);
    }
    return absl::InvalidArgumentError(absl::StrCat("malformed JSON: ", reason));
  }
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError("the request body must be a JSON object");
  }
  return parsed;
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

absl::Status FieldError(std::string_view field, std::string_view message) {
  absl::Status status = absl::InvalidArgumentError(AbslView(message));
  status.SetPayload(kFieldPayloadUrl, absl::Cord(AbslView(field)));
  return status;
}

absl::Status MissingFieldError(std::string_view field) {
  return FieldError(field, absl::StrCat("'", AbslView(field), "' is required"));
}

absl::Status FieldTypeError(std::string_view field, std::string_view type) {
  return FieldError(field, absl::StrCat("'", AbslView(field), "' must be ", AbslView(type)));
}

std::optional<std::string> FieldOf(const absl::Status& status) {
  const auto field = status.GetPayload(kFieldPayloadUrl);
  if (!field) return std::nullopt;
  return std::string(*field);
}

JsonObjectReader::JsonObjectReader(const Json& object, std::string path)
    : object_(object), path_(std::move(path)) {}

std::string JsonObjectReader::FieldName(std::string_view key) const {
  return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", AbslView(key));
}

const Json* JsonObjectReader::Find(std::string_view key) const {
  if (!object_.is_object()) return nullptr;
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status JsonObjectReader::TypeError(std::string_view key, std::string_view type) const {
  return FieldTypeError(FieldName(key), type);
}

absl::StatusOr<JsonObjectReader> JsonObjectReader::Element(const Json& array, size_t index,
                                                           std::string_view array_path) {
  std::string path = absl::StrCat(AbslView(array_path), "[", index, "]");
  if (!array[index].is_object()) return FieldTypeError(path, "an object");
  return JsonObjectReader(array[index], std::move(path));
}

absl::StatusOr<std::optional<std::string>> JsonObjectReader::String(std::string_view key) const {
  const Json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) return TypeError(key, "a string");
  return value->get<std::string>();
}

absl::StatusOr<std::optional<bool>> JsonObjectReader::Bool(std::string_view key) const {
  const Json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) return TypeError(key, "a boolean");
  return value->get<bool>();
}

absl::StatusOr<std::optional<double>> JsonObjectReader::Number(std::string_view key) const {
  const Json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) return TypeError(key, "a number");
  return value->get<double>();
}

absl::StatusOr<std::optional<int64_t>> JsonObjectReader::Int64(std::string_view key) const {
  const Json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  std::optional<int64_t> integer = IntegerValue(*value);
  if (!integer) return TypeError(key, "an integer");
  return integer;
}

absl::StatusOr<std::optional<int32_t>> JsonObjectReader::Int32(std::string_view key) const {
  const Json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  std::optional<int64_t> integer = IntegerValue(*value);
  if (!integer || *integer < std::numeric_limits<int32_t>::min() ||
      *integer > std::numeric_limits<int32_t>::max()) {
    return TypeError(key, "a 32-bit integer");
  }
  return static_cast<int32_t>(*integer);
}

absl::StatusOr<std::optional<std::vector<std::string>>> JsonObjectReader::StringList(
    std::string_view key) const {
  const Json* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_string()) return std::vector<std::string>{value->get<std::string>()};
  std::vector<std::string> list;
  if (value->is_array()) {
    for (const Json& item : *value) {
      if (!item.is_string()) break;
      list.push_back(item.get<std::string>());
    }
    if (list.size() == value->size()) return list;
  }
  return TypeError(key, "a string or an array of strings");
}

absl::StatusOr<const Json*> JsonObjectReader::Object(std::string_view key) const {
  const Json* value = Find(key);
  if (value != nullptr && !value->is_object()) return TypeError(key, "an object");
  return value;
}

absl::StatusOr<const Json*> JsonObjectReader::Array(std::string_view key) const {
  const Json* value = Find(key);
  if (value != nullptr && !value->is_array()) return TypeError(key, "an array");
  return value;
}

}  // namespace baton::router
