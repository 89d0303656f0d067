// What loadgen sends and what it records: one request of a workload (RequestSpec) and what the
// client saw of it (RequestRecord). Plain data, no threading of its own.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace baton::loadgen {

// One request of a workload, protocol-neutral: the front end (gRPC or OpenAI HTTP) and the mode
// (completion: `prompt` is the text; chat: `prompt` is the one user message) turn it into a call.
struct RequestSpec {
  std::string prompt;
  // Prompt length in the model's tokens as the workload built it (0 when unknown, e.g. a dataset
  // read without a tokenizer).
  int32_t prompt_tokens = 0;
  // max_tokens of the call; with ignore_eos the exact output length.
  int32_t output_tokens = 0;
  // Shared-prefix group (-1: none).
  int32_t prefix_group = -1;
};

// What the client observed of one request. Times are seconds on the client's steady clock,
// relative to the start of the run, taken when the bytes arrived.
struct RequestRecord {
  int64_t index = 0;    // position in the run, in send order
  bool warmup = false;  // sent before measurement started; excluded from every metric
  double send_s = 0;    // when the call started
  double end_s = 0;     // when it ended (last byte or error)
  // One entry per streamed chunk that carried output: arrival time and tokens in it (gRPC knows
  // the ids; an OpenAI SSE event counts as one).
  std::vector<double> chunk_s;
  std::vector<int32_t> chunk_tokens;
  int32_t prompt_tokens = 0;  // the server's usage when it sent one, else the spec's
  int32_t output_tokens = 0;  // the server's usage when it sent one, else the streamed count
  int32_t expected_output_tokens = 0;
  bool ok = false;
  // For a failed request: "grpc:UNAVAILABLE", "http:429", "transport", ...; and the message.
  std::string error_code;
  std::string error_message;
};

}  // namespace baton::loadgen
