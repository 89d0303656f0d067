// A scriptable InferenceBackend for the front ends' tests. Generate records the request and its
// context, streams the scripted chunks (stopping at the first the sink refuses and then returning
// kCancelled, as the pipeline does), and returns the scripted final message or status.
//
// Thread-safe: the test scripts it while server threads call it. Hooks run on the caller's thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/baton/v1/inference.pb.h"
#include "router/inference_backend.h"

namespace baton::testing {

using ::baton::router::CallContext;
using ::baton::router::ChunkSink;

class FakeBackend : public ::baton::router::InferenceBackend {
 public:
  FakeBackend() {
    baton::v1::GenerateResponse stop;
    stop.set_finish_reason(baton::v1::FINISH_REASON_STOP);
    result_ = stop;
  }

  // What Generate streams before it returns.
  void SetChunks(std::vector<baton::v1::GenerateResponse> chunks) {
    absl::MutexLock lock(&mu_);
    chunks_ = std::move(chunks);
  }
  // What Generate returns once every chunk was taken (default: OK with FINISH_REASON_STOP).
  void SetResult(absl::StatusOr<baton::v1::GenerateResponse> result) {
    absl::MutexLock lock(&mu_);
    result_ = std::move(result);
  }
  // Runs before chunk `index` is streamed, without the lock: a test can block there.
  void SetBeforeChunk(std::function<void(size_t index)> hook) {
    absl::MutexLock lock(&mu_);
    before_chunk_ = std::move(hook);
  }
  void SetModels(baton::v1::ListModelsResponse models) {
    absl::MutexLock lock(&mu_);
    models_ = std::move(models);
  }
  // ChatTemplateText's answer for `model` (kNotFound for any other).
  void SetChatTemplate(std::string model, std::string text) {
    absl::MutexLock lock(&mu_);
    templates_[std::move(model)] = std::move(text);
  }

  baton::v1::GenerateRequest last_request() const {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }
  CallContext last_context() const {
    absl::MutexLock lock(&mu_);
    return last_context_;
  }
  int generate_calls() const {
    absl::MutexLock lock(&mu_);
    return generate_calls_;
  }
  // Chunks the sink accepted in the last call, and whether it refused one.
  size_t chunks_accepted() const {
    absl::MutexLock lock(&mu_);
    return chunks_accepted_;
  }
  bool sink_refused() const {
    absl::MutexLock lock(&mu_);
    return sink_refused_;
  }

  absl::StatusOr<baton::v1::GenerateResponse> Generate(const baton::v1::GenerateRequest& request,
                                                       const CallContext& context,
                                                       const ChunkSink& on_chunk) override {
    std::vector<baton::v1::GenerateResponse> chunks;
    std::function<void(size_t)> before_chunk;
    {
      absl::MutexLock lock(&mu_);
      last_request_ = request;
      last_context_ = context;
      ++generate_calls_;
      chunks_accepted_ = 0;
      sink_refused_ = false;
      chunks = chunks_;
      before_chunk = before_chunk_;
    }
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (before_chunk) before_chunk(i);
      const bool accepted = on_chunk(chunks[i]);
      absl::MutexLock lock(&mu_);
      if (!accepted) {
        sink_refused_ = true;
        return absl::CancelledError("the client went away");
      }
      ++chunks_accepted_;
    }
    absl::MutexLock lock(&mu_);
    return result_;
  }

  baton::v1::ListModelsResponse ListModels() const override {
    absl::MutexLock lock(&mu_);
    return models_;
  }

  absl::StatusOr<baton::v1::TokenizeResponse> Tokenize(
      const baton::v1::TokenizeRequest&) const override {
    return absl::UnimplementedError("FakeBackend does not tokenize");
  }

  absl::StatusOr<std::string> ChatTemplateText(const std::string& model) const override {
    absl::MutexLock lock(&mu_);
    const auto it = templates_.find(model);
    if (it == templates_.end()) return absl::NotFoundError("no model " + model);
    return it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<baton::v1::GenerateResponse> chunks_ ABSL_GUARDED_BY(mu_);
  absl::StatusOr<baton::v1::GenerateResponse> result_ ABSL_GUARDED_BY(mu_);
  std::function<void(size_t)> before_chunk_ ABSL_GUARDED_BY(mu_);
  baton::v1::ListModelsResponse models_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> templates_ ABSL_GUARDED_BY(mu_);
  baton::v1::GenerateRequest last_request_ ABSL_GUARDED_BY(mu_);
  CallContext last_context_ ABSL_GUARDED_BY(mu_);
  int generate_calls_ ABSL_GUARDED_BY(mu_) = 0;
  size_t chunks_accepted_ ABSL_GUARDED_BY(mu_) = 0;
  bool sink_refused_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace baton::testing
