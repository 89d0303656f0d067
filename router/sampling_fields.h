// Reads baton.v1.SamplingParams from the JSON of an HTTP API. Each API names the fields its own
// way (OpenAI's max_tokens is Ollama's num_predict); a SamplingFieldNames table per API lists the
// names, so the reading is written once and a new field is one entry in each table.
//
// Stateless; thread-safe.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "proto/baton/v1/inference.pb.h"
#include "router/json_fields.h"

namespace baton::router {

// The JSON key an API uses for each SamplingParams field; empty for a field the API lacks.
struct SamplingFieldNames {
  std::string_view temperature;
  std::string_view top_p;
  std::string_view top_k;
  std::string_view min_p;
  std::string_view repetition_penalty;
  std::string_view frequency_penalty;
  std::string_view presence_penalty;
  std::string_view seed;
  std::string_view stop;
  std::string_view max_tokens;
  std::string_view ignore_eos;
};

// Copies each named field that `fields` holds (absent and null ones are left unset) into
// `sampling`, as is: ranges are the pipeline's to check. A seed is any 64-bit integer (negative
// ones keep their two's-complement bits). kInvalidArgument (a FieldError) for a field of the
// wrong JSON type.
absl::Status ReadSamplingFields(const JsonObjectReader& fields, const SamplingFieldNames& names,
                                baton::v1::SamplingParams& sampling);

}  // namespace baton::router
