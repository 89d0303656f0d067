// prefill_worker: serves PrefillService and WorkerService over gRPC, /metrics and /healthz over
// HTTP. Prints "READY grpc_port=N http_port=M" once listening; shuts down cleanly on SIGTERM.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/logging.h"
#include "prefill_worker/prefill_worker.h"
#include "serving/flags.h"
#include "serving/termination.h"
#include "serving/worker_network.h"

ABSL_FLAG(std::string, model, "", "Path of the GGUF model.");
ABSL_FLAG(int32_t, threads, 1, "Threads per engine step.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int32_t, grpc_port, 0, "gRPC port (0 picks one).");
ABSL_FLAG(int32_t, http_port, 0, "HTTP port for /metrics and /healthz (0 picks one).");
ABSL_FLAG(int32_t, kv_blocks, 1024, "Blocks in the scratch KV pool.");
ABSL_FLAG(int32_t, block_size, 16, "Tokens per KV block (must match the decode workers).");
ABSL_FLAG(std::string, kv_dtype, "f32", "KV element type: f32 or f16 (must match).");
ABSL_FLAG(int32_t, max_batch_tokens, 512, "Most prompt tokens per engine step.");
ABSL_FLAG(int32_t, max_batch, 16, "Most sequences per engine step.");
ABSL_FLAG(int32_t, max_queue, 1024, "Most queued requests.");
ABSL_FLAG(int32_t, max_calls, 1024, "Most Prefill calls open at once.");
ABSL_FLAG(bool, prefix_cache, true,
          "Keep computed prompts' full KV blocks and reuse them for prompts that share them.");
ABSL_FLAG(std::string, transport, "ucx",
          "KV transport by registered name: ucx, nccl (CUDA build) or inprocess.");
ABSL_FLAG(int32_t, kv_progress_spin_us, 200,
          "UCX progress thread: how long it polls after activity before sleeping (us).");
ABSL_FLAG(std::string, ucx, "",
          "UCX settings without the UCX_ prefix, e.g. TLS=tcp,NET_DEVICES=lo.");
ABSL_FLAG(int32_t, shutdown_grace_ms, 10000, "On SIGTERM, time queued prompts get to finish.");
ABSL_FLAG(int32_t, testing_layer_delay_ms, 0,
          "Tests only: sleep this long after each layer (to kill or cancel mid-prefill).");

int main(int argc, char** argv) {
  baton::serving::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  namespace pw = baton::prefill_worker;
  pw::PrefillWorkerOptions options;
  options.engine.model_path = absl::GetFlag(FLAGS_model);
  options.engine.num_threads = absl::GetFlag(FLAGS_threads);
  options.engine.kv_blocks = absl::GetFlag(FLAGS_kv_blocks);
  options.engine.block_size_tokens = absl::GetFlag(FLAGS_block_size);
  absl::StatusOr<baton::engine::KvDType> dtype =
      baton::serving::ParseKvDType(absl::GetFlag(FLAGS_kv_dtype));
  if (!dtype.ok()) {
    LOG(ERROR) << "prefill_worker: " << dtype.status();
    return 2;
  }
  options.engine.kv_dtype = *dtype;
  options.endpoints = {.host = absl::GetFlag(FLAGS_host),
                       .grpc_port = absl::GetFlag(FLAGS_grpc_port),
                       .http_port = absl::GetFlag(FLAGS_http_port)};
  options.scheduler.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  options.scheduler.max_batch_size = absl::GetFlag(FLAGS_max_batch);
  options.scheduler.max_queue = absl::GetFlag(FLAGS_max_queue);
  options.scheduler.testing_layer_delay =
      absl::Milliseconds(absl::GetFlag(FLAGS_testing_layer_delay_ms));
  options.scheduler.prefix_caching = absl::GetFlag(FLAGS_prefix_cache);
  options.max_calls = absl::GetFlag(FLAGS_max_calls);
  options.transport.kind = absl::GetFlag(FLAGS_transport);
  auto ucx = baton::serving::ParseUcxConfig(absl::GetFlag(FLAGS_ucx));
  if (!ucx.ok()) {
    LOG(ERROR) << "prefill_worker: " << ucx.status();
    return 2;
  }
  options.transport.ucx_config = *ucx;
  options.transport.progress_spin = absl::Microseconds(absl::GetFlag(FLAGS_kv_progress_spin_us));
  if (absl::Status network =
          baton::serving::ApplyWorkerNetworkFlags(options.endpoints, options.transport);
      !network.ok()) {
    LOG(ERROR) << "prefill_worker: " << network;
    return 2;
  }
  options.shutdown_grace = absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));

  absl::StatusOr<std::unique_ptr<pw::PrefillWorker>> worker = pw::PrefillWorker::Create(options);
  if (!worker.ok()) {
    LOG(ERROR) << "prefill_worker: " << worker.status();
    return 1;
  }
  std::cout << baton::serving::ReadyLine((*worker)->grpc_port(), (*worker)->http_port())
            << std::endl;
  const int signal = baton::serving::WaitForTerminationSignal();
  LOG(INFO) << "prefill_worker: signal " << signal << ", shutting down";
  (*worker)->Shutdown();
  return 0;
}
