// Typed readers of a JSON request body's fields, shared by the router's HTTP front ends (OpenAI,
// Ollama). They check only what JSON itself says (type, and for integers that the value fits the
// proto field); ranges and meaning are the pipeline's to judge.
//
// A field that is absent or null reads as std::nullopt: clients send `"stop": null` for "unset".
// A field of the wrong type is kInvalidArgument "'<field>' must be a <type>", and the status
// carries the field's name (FieldOf) so an API can report it, as OpenAI's error "param" does.
// Nothing here throws: nlohmann::json's exceptions stop at this adapter.
//
// Stateless; thread-safe. A JsonObjectReader borrows its object, which must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace baton::router {

// Parses a request body that must hold one JSON object. kInvalidArgument when it is not valid
// JSON ("malformed JSON: <parser's reason>") or not an object.
absl::StatusOr<nlohmann::json> ParseJsonObject(std::string_view body);

// Serializes compactly. Invalid UTF-8 in strings becomes U+FFFD instead of an exception.
std::string DumpJson(const nlohmann::json& value);

// kInvalidArgument with `message`, naming `field` (a path such as "messages[2].content").
absl::Status FieldError(std::string_view field, std::string_view message);

// FieldErrors with the standard messages: "'<field>' is required", "'<field>' must be <type>"
// (the type with its article: "a string", "an object").
absl::Status MissingFieldError(std::string_view field);
absl::Status FieldTypeError(std::string_view field, std::string_view type);

// The field a FieldError names, or nullopt for any other status.
std::optional<std::string> FieldOf(const absl::Status& status);

// Reads the fields of one JSON object. `path` is how the object itself is named in errors: ""
// for the request body, "options" for a nested object, "messages[0]" for an array element.
class JsonObjectReader {
 public:
  // `object` must be a JSON object (or null, which reads as an object with no fields).
  explicit JsonObjectReader(const nlohmann::json& object, std::string path = "");

  // The field's name in errors: "<path>.<key>", or just "<key>" at the top level.
  std::string FieldName(std::string_view key) const;

  // The raw value, or null when absent or JSON null.
  const nlohmann::json* Find(std::string_view key) const;

  absl::StatusOr<std::optional<std::string>> String(std::string_view key) const;
  absl::StatusOr<std::optional<bool>> Bool(std::string_view key) const;
  // Any JSON number.
  absl::StatusOr<std::optional<double>> Number(std::string_view key) const;
  // An integer (a number with no fractional part, so 3.0 passes and 3.5 does not) that fits in
  // 32 bits ("a 32-bit integer") or 64 bits ("an integer").
  absl::StatusOr<std::optional<int32_t>> Int32(std::string_view key) const;
  absl::StatusOr<std::optional<int64_t>> Int64(std::string_view key) const;
  // A string or an array of strings (a lone string reads as a list of one), as "stop" is sent.
  absl::StatusOr<std::optional<std::vector<std::string>>> StringList(std::string_view key) const;
  // A nested object or array, returned as a pointer into the borrowed object.
  absl::StatusOr<const nlohmann::json*> Object(std::string_view key) const;
  absl::StatusOr<const nlohmann::json*> Array(std::string_view key) const;

  // Element `index` of `array` (which must be an array), itself a JSON object, read by a reader
  // named "<array_path>[<index>]". kInvalidArgument when the element is not an object.
  static absl::StatusOr<JsonObjectReader> Element(const nlohmann::json& array, size_t index,
                                                  std::string_view array_path);

 private:
  absl::Status TypeError(std::string_view key, std::string_view type) const;

  const nlohmann::json& object_;
  std::string path_;
};

}  // namespace baton::router
