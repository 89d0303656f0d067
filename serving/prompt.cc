#include "serving/prompt.h"

#include "absl/strings/str_cat.h"

namespace baton::serving {

absl::Status ValidatePrompt(std::span<const int32_t> prompt, const engine::ModelConfig& config) {
  if (prompt.empty()) return absl::InvalidArgumentError("empty prompt");
  if (static_cast<int64_t>(prompt.size()) >= config.context_length) {
    return absl::InvalidArgumentError(absl::StrCat("prompt of ", prompt.size(),
                                                   " tokens does not fit the context of ",
                                                   config.context_length));
  }
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || prompt[i] >= config.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token ", prompt[i], " at position ", i,
                                                     " is outside the vocabulary of ",
                                                     config.vocab_size));
    }
  }
  return absl::OkStatus();
}

}  // namespace baton::serving
