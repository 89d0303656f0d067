#include "router/sampling_fields.h"

#include "common/status_macros.h"

namespace baton::router {
namespace {

using baton::v1::SamplingParams;

// The float fields, as (the table's member naming the key, the proto's setter).
struct FloatField {
  std::string_view SamplingFieldNames::*name;
  void (SamplingParams::*set)(float);
};

constexpr FloatField kFloatFields[] = {
    {&SamplingFieldNames::temperature, &SamplingParams::set_temperature},
    {&SamplingFieldNames::top_p, &SamplingParams::set_top_p},
    {&SamplingFieldNames::min_p, &SamplingParams::set_min_p},
    {&SamplingFieldNames::repetition_penalty, &SamplingParams::set_repetition_penalty},
    {&SamplingFieldNames::frequency_penalty, &SamplingParams::set_frequency_penalty},
    {&SamplingFieldNames::presence_penalty, &SamplingParams::set_presence_penalty},
};

struct Int32Field {
  std::string_view SamplingFieldNames::*name;
  void (SamplingParams::*set)(int32_t);
};

constexpr Int32Field kInt32Fields[] = {
    {&SamplingFieldNames::top_k, &SamplingParams::set_top_k},
    {&SamplingFieldNames::max_tokens, &SamplingParams::set_max_tokens},
};

}  // namespace

absl::Status ReadSamplingFields(const JsonObjectReader& fields, const SamplingFieldNames& names,
                                SamplingParams& sampling) {
  for (const FloatField& field : kFloatFields) {
    const std::string_view key = names.*field.name;
    if (key.empty()) continue;
    ASSIGN_OR_RETURN(std::optional<double> value, fields.Number(key));
    if (value) (sampling.*field.set)(static_cast<float>(*value));
  }
  for (const Int32Field& field : kInt32Fields) {
    const std::string_view key = names.*field.name;
    if (key.empty()) continue;
    ASSIGN_OR_RETURN(std::optional<int32_t> value, fields.Int32(key));
    if (value) (sampling.*field.set)(*value);
  }
  if (!names.seed.empty()) {
    ASSIGN_OR_RETURN(std::optional<int64_t> seed, fields.Int64(names.seed));
    if (seed) sampling.set_seed(static_cast<uint64_t>(*seed));
  }
  if (!names.stop.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> stop, fields.StringList(names.stop));
    if (stop) {
      for (std::string& s : *stop) sampling.add_stop(std::move(s));
    }
  }
  if (!names.ignore_eos.empty()) {
    ASSIGN_OR_RETURN(std::optional<bool> ignore_eos, fields.Bool(names.ignore_eos));
    if (ignore_eos) sampling.set_ignore_eos(*ignore_eos);
  }
  return absl::OkStatus();
}

}  // namespace baton::router
