// disagg_client_main: sends one request through a decode worker (and a prefill worker unless
// --local_prefill) and prints the generated tokens as they stream: token ids, or text when
// --model names the GGUF file whose tokenizer turns --prompt into ids and ids back into text.
// It talks to the workers directly, for debugging one handoff; to load-test a deployment, run
// //loadgen against the router.
//
//   disagg_client_main --decode=127.0.0.1:5001 --prefill=127.0.0.1:5002
//       --prompt_ids=1,403,407,261,378 --max_tokens=32 --temperature=0
//   disagg_client_main --decode=... --prefill=... --model=m.gguf --prompt="Once upon a time"
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "router/disagg_client.h"
#include "router/text_codec.h"

ABSL_FLAG(std::string, decode, "", "host:port of the decode worker's gRPC server.");
ABSL_FLAG(std::string, prefill, "", "host:port of the prefill worker (empty: colocated).");
ABSL_FLAG(std::string, prompt_ids, "1", "Comma-separated prompt token ids (without --prompt).");
ABSL_FLAG(std::string, prompt, "", "Prompt text, tokenized with --model's tokenizer.");
ABSL_FLAG(std::string, model, "", "GGUF model whose tokenizer encodes --prompt and decodes output.");
ABSL_FLAG(int32_t, max_tokens, 32, "Tokens to generate.");
ABSL_FLAG(float, temperature, 0.0f, "Sampling temperature (0 = greedy).");
ABSL_FLAG(bool, local_prefill, false, "Prefill on the decode worker.");
ABSL_FLAG(bool, ignore_eos, false, "Keep generating past the end-of-sequence token.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  baton::router::DisaggRequest request;
  request.request_id = "disagg_client_main";
  std::unique_ptr<baton::router::TextCodec> codec;
  if (!absl::GetFlag(FLAGS_model).empty()) {
    auto loaded = baton::router::TextCodec::FromGguf(absl::GetFlag(FLAGS_model));
    if (!loaded.ok()) {
      std::cerr << "cannot load the tokenizer: " << loaded.status() << "\n";
      return 2;
    }
    codec = *std::move(loaded);
  }
  if (!absl::GetFlag(FLAGS_prompt).empty()) {
    if (codec == nullptr) {
      std::cerr << "--prompt needs --model (the tokenizer)\n";
      return 2;
    }
    auto ids = codec->EncodePrompt(absl::GetFlag(FLAGS_prompt));
    if (!ids.ok()) {
      std::cerr << "cannot tokenize the prompt: " << ids.status() << "\n";
      return 2;
    }
    request.prompt = *std::move(ids);
  } else {
    for (absl::string_view piece :
         absl::StrSplit(absl::GetFlag(FLAGS_prompt_ids), ',', absl::SkipWhitespace())) {
      int32_t id = 0;
      if (!absl::SimpleAtoi(piece, &id)) {
        std::cerr << "bad token id '" << std::string(piece) << "'\n";
        return 2;
      }
      request.prompt.push_back(id);
    }
  }
  request.sampling.set_temperature(absl::GetFlag(FLAGS_temperature));
  request.sampling.set_max_tokens(absl::GetFlag(FLAGS_max_tokens));
  request.sampling.set_ignore_eos(absl::GetFlag(FLAGS_ignore_eos));
  request.local_prefill =
      absl::GetFlag(FLAGS_local_prefill) || absl::GetFlag(FLAGS_prefill).empty();
  request.timeout = absl::Seconds(120);

  auto decode =
      grpc::CreateChannel(absl::GetFlag(FLAGS_decode), grpc::InsecureChannelCredentials());
  std::shared_ptr<grpc::Channel> prefill;
  if (!absl::GetFlag(FLAGS_prefill).empty()) {
    prefill = grpc::CreateChannel(absl::GetFlag(FLAGS_prefill), grpc::InsecureChannelCredentials());
  }
  baton::router::DisaggClient client(decode, prefill);
  std::optional<baton::engine::tokenizer::IncrementalDecoder> stream;
  if (codec != nullptr) {
    stream.emplace(codec->NewStream());
    std::cout << "text: " << (absl::GetFlag(FLAGS_prompt).empty() ? "" : absl::GetFlag(FLAGS_prompt))
              << std::flush;
  } else {
    std::cout << "tokens:" << std::flush;
  }
  auto result = client.Generate(request, [&](const baton::internal::v1::DecodedTokens& tokens) {
    for (int32_t id : tokens.token_ids()) {
      if (stream) {
        std::cout << stream->Feed(id);
      } else {
        std::cout << " " << id;
      }
    }
    std::cout << std::flush;
    return true;
  });
  if (stream) std::cout << stream->Flush();
  std::cout << "\n";
  if (!result.ok()) {
    std::cerr << "request failed: " << result.status() << "\n";
    return 1;
  }
  std::cout << "finish_reason: " << baton::v1::FinishReason_Name(result->finished.finish_reason())
            << " completion_tokens: " << result->finished.completion_tokens();
  if (!request.local_prefill) {
    std::cout << " prefill_queue_s: " << result->prefill.timings().queue_seconds()
              << " prefill_compute_s: " << result->prefill.timings().compute_seconds()
              << " kv_transfer_s: " << result->prefill.timings().transfer_seconds()
              << " kv_bytes: " << result->prefill.kv_bytes();
  }
  std::cout << " decode_s: " << result->finished.decode_seconds() << "\n";
  return 0;
}
