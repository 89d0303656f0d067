// The seam between the runner and a protocol: starts one streaming generation call without
// blocking and reports what arrives. Implementations: GrpcStreamClient (baton.v1.Inference) and
// HttpStreamClient (OpenAI HTTP with server-sent events). Both drive many calls from a few
// threads (gRPC's callback API, one Asio event loop), never a thread per call.
//
// Threading: Start is thread-safe. A call's callbacks run on the client's threads, one at a
// time and in order (every on_chunk before on_done), and must not block. on_done runs exactly
// once per Start, also when the server is gone or the call times out. The destructor waits for
// calls still running.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "loadgen/request_spec.h"

namespace baton::loadgen {

enum class PromptMode { kCompletion, kChat };

// What every call of a run shares.
struct CallOptions {
  std::string model;    // the served model's name
  std::string api_key;  // sent as "Bearer <key>" when not empty
  PromptMode mode = PromptMode::kCompletion;
  bool ignore_eos = true;  // exact output lengths
  float temperature = 0;
  absl::Duration timeout = absl::Seconds(600);  // for the whole call
};

// How a call ended.
struct CallResult {
  bool ok = false;
  // When !ok: "grpc:<CODE NAME>", "http:<status>", "connect", "transport", "stream_error",
  // "timeout"; and a message from the server or the transport.
  std::string error_code;
  std::string error_message;
  // The server's usage, when it sent one (-1: none).
  int32_t prompt_tokens = -1;
  int32_t completion_tokens = -1;
};

struct CallEvents {
  // A chunk carrying output arrived: `tokens` tokens in it (an OpenAI SSE event counts as one).
  std::function<void(int32_t tokens)> on_chunk;
  std::function<void(const CallResult& result)> on_done;
};

class StreamClient {
 public:
  virtual ~StreamClient() = default;
  virtual void Start(const RequestSpec& spec, CallEvents events) = 0;
};

}  // namespace baton::loadgen
