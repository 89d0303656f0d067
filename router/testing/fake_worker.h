// An in-process stand-in for a prefill or decode worker on a real gRPC server (loopback, port
// 0): WorkerService (load reports the test publishes), grpc.health.v1, DecodeService and
// PrefillService with scripted failures. Generation is a toy whose next token is a function of
// the whole sequence so far (FakeNextToken), like a real model's greedy output, so a stream that
// moves between workers is checked token for token. Prefill and decode fakes meet through a
// FakeKvFabric (the transfer id's first token), standing in for the KV transfer.
//
// Threading: thread-safe; calls run on gRPC threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/baton/internal/v1/decode.grpc.pb.h"
#include "proto/baton/internal/v1/prefill.grpc.pb.h"
#include "proto/baton/internal/v1/worker.grpc.pb.h"

namespace baton::router::testing {

// The toy model's next token after `history`.
int32_t FakeNextToken(const std::vector<int32_t>& history);
// Its `count` tokens after `prompt`.
std::vector<int32_t> FakeGenerate(std::vector<int32_t> prompt, int32_t count);

// Transfer id -> the first token the prefill fake computed for it.
class FakeKvFabric {
 public:
  void Complete(const std::string& transfer_id, int32_t first_token);
  // The first token, or -1 when none came within `timeout` (real time) or `cancelled` turned
  // true (polled).
  int32_t Await(const std::string& transfer_id, absl::Duration timeout,
                const std::function<bool()>& cancelled);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int32_t> done_ ABSL_GUARDED_BY(mu_);
};

class FakeWorker {
 public:
  // Serves on 127.0.0.1:`port` (0: any free port). `fabric` must outlive the worker.
  static std::unique_ptr<FakeWorker> Start(baton::internal::v1::WorkerRole role,
                                           FakeKvFabric* fabric, int port = 0);
  ~FakeWorker();

  std::string address() const;
  int port() const { return port_; }

  // Sends `load` (role, model and layout filled in when unset) on every WatchLoad stream and as
  // the first message of new ones.
  void PublishLoad(baton::internal::v1::WorkerLoad load);
  void SetServing(bool serving);
  // Stops the server: every open stream breaks (a dead worker). Restart serves on the same port.
  void Stop();
  void Restart();

  // Every Decode / Prefill call fails at once with `code` (OK: no failure).
  void FailDecode(grpc::StatusCode code);
  void FailPrefill(grpc::StatusCode code);
  // Runs `hook` at the start of every Prefill call (before its scripted failure), on the call's
  // thread.
  void OnPrefill(std::function<void()> hook);
  // Every Prefill call answers nothing until its caller gives up (deadline or cancel).
  void HangPrefill();
  // The next Decode call fails with UNAVAILABLE after streaming `tokens` tokens.
  void DieAfterTokens(int32_t tokens);
  // The lease that KvTargets name and RenewLease grants (default 30 s). The fake does not end
  // leases itself: tests check renewals() instead.
  void SetLease(absl::Duration lease);

  int32_t decode_calls() const;
  int32_t prefill_calls() const;
  // RenewLease calls answered OK (every one is, for a transfer this worker issued).
  int32_t renewals() const;
  std::vector<baton::internal::v1::DecodeRequest> decode_requests() const;

 private:
  class Services;
  FakeWorker() = default;
  void Serve();

  baton::internal::v1::WorkerRole role_;
  FakeKvFabric* fabric_ = nullptr;
  int port_ = 0;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace baton::router::testing
