// The seam between the router's front ends (gRPC baton.v1.Inference, OpenAI HTTP, Ollama HTTP)
// and its one request pipeline. Front ends translate their protocol into baton.v1 messages, call
// this interface, and translate the answers back; every rule (validation, limits, chat templates,
// tokenization, admission, stop strings, usage, metrics) lives behind it, once.
//
// Threading: implementations are thread-safe; Generate blocks its caller for the whole request and
// calls `on_chunk` on that same thread.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/baton/v1/inference.pb.h"

namespace baton::router {

// What a front end knows about a call besides the request itself.
struct CallContext {
  // Which front end and operation, for metrics labels: "grpc", "openai_completions",
  // "openai_chat", "ollama_generate", "ollama_chat".
  std::string endpoint;
  // The client's deadline (gRPC deadline, or none for HTTP).
  absl::Time deadline = absl::InfiniteFuture();
};

// Receives each streamed GenerateResponse (token ids, text_delta, logprobs). Returning false means
// the client is gone: the request is cancelled on the workers and Generate returns kCancelled.
using ChunkSink = std::function<bool(const baton::v1::GenerateResponse& chunk)>;

class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;

  // Runs one request to its end. Streams chunks through `on_chunk` (text_delta never holds text
  // a stop string may still claim), then returns the final message: finish_reason, usage and
  // timings, with empty token_ids and text_delta. Errors (nothing more is streamed after one):
  //   kInvalidArgument  bad sampling values, empty prompt, prompt + max_tokens over the context
  //                     (the message names the numbers), invalid UTF-8, a bad chat conversation
  //   kNotFound         unknown model
  //   kResourceExhausted  admission limit reached (retry later)
  //   kUnavailable      no worker can take the request
  //   kDeadlineExceeded, kCancelled
  virtual absl::StatusOr<baton::v1::GenerateResponse> Generate(
      const baton::v1::GenerateRequest& request, const CallContext& context,
      const ChunkSink& on_chunk) = 0;

  // The served models.
  virtual baton::v1::ListModelsResponse ListModels() const = 0;

  // Tokenizes with the model's tokenizer (chat input through its chat template).
  // kNotFound for an unknown model, kInvalidArgument for bad input.
  virtual absl::StatusOr<baton::v1::TokenizeResponse> Tokenize(
      const baton::v1::TokenizeRequest& request) const = 0;

  // The chat template text a model applies (its GGUF tokenizer.chat_template, or the documented
  // default), for APIs that show it (Ollama's /api/show). kNotFound for an unknown model.
  virtual absl::StatusOr<std::string> ChatTemplateText(const std::string& model) const = 0;
};

}  // namespace baton::router
