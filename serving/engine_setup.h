// Loads a worker's model, engine and KV pool from its options, and builds the WorkerLoad report
// both workers send. Shared by the prefill and decode workers' object graphs.
//
// Thread-safe free functions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/runtime/engine.h"
#include "kvtransfer/kv_transport.h"
#include "proto/baton/internal/v1/worker.pb.h"
#include "serving/load_counts.h"

namespace baton::serving {

struct EngineSetup {
  std::string model_path;
  int32_t num_threads = 1;
  int32_t kv_blocks = 1024;
  int32_t block_size_tokens = 16;
  engine::KvDType kv_dtype = engine::KvDType::kF32;
};

struct LoadedEngine {
  std::shared_ptr<const engine::Model> model;
  std::string model_name;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<engine::KvPool> pool;
};

// The KV pool's memory comes from `transport` (the worker's KV transport, which then moves bytes
// in and out of it best; it must outlive the pool). kInvalidArgument for non-positive sizes; the
// model loader's, transport's and pool's errors otherwise.
absl::StatusOr<LoadedEngine> LoadEngine(const EngineSetup& setup,
                                        kvtransfer::KvTransport& transport);

baton::internal::v1::WorkerLoad MakeWorkerLoad(baton::internal::v1::WorkerRole role,
                                               const std::string& model_name,
                                               const engine::KvLayout& layout,
                                               const std::string& address,
                                               const LoadCounts& counts);

}  // namespace baton::serving
