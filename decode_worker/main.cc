// decode_worker: serves DecodeService and WorkerService over gRPC, /metrics and /healthz over
// HTTP. Prints "READY grpc_port=N http_port=M" once listening; shuts down cleanly on SIGTERM.
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/logging.h"
#include "decode_worker/decode_worker.h"
#include "serving/flags.h"
#include "serving/termination.h"
#include "serving/worker_network.h"

ABSL_FLAG(std::string, model, "", "Path of the GGUF model.");
ABSL_FLAG(int32_t, threads, 1, "Threads per engine step.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int32_t, grpc_port, 0, "gRPC port (0 picks one).");
ABSL_FLAG(int32_t, http_port, 0, "HTTP port for /metrics and /healthz (0 picks one).");
ABSL_FLAG(int32_t, kv_blocks, 1024, "Blocks in the KV pool.");
ABSL_FLAG(int32_t, block_size, 16, "Tokens per KV block.");
ABSL_FLAG(std::string, kv_dtype, "f32", "KV element type: f32 or f16.");
ABSL_FLAG(int32_t, max_batch, 32, "Most sequences per engine step.");
ABSL_FLAG(int32_t, prefill_chunk, 256, "Most local prompt tokens per step (colocated mode).");
ABSL_FLAG(int32_t, lease_ms, 30000,
          "Default lease on blocks reserved for remote KV: how long they are held without a "
          "renewal (the router renews while the prompt's prefill runs or waits in a queue).");
ABSL_FLAG(int32_t, max_streams, 1024, "Most Decode streams open at once.");
ABSL_FLAG(bool, kv_checksum, false, "Verify a checksum of every KV run received.");
ABSL_FLAG(bool, prefix_cache, true,
          "Keep finished requests' full KV blocks and reuse them for prompts that share them.");
ABSL_FLAG(std::string, transport, "ucx",
          "KV transport by registered name: ucx, nccl (CUDA build) or inprocess.");
ABSL_FLAG(int32_t, kv_progress_spin_us, 200,
          "UCX progress thread: how long it polls after activity before sleeping (us).");
ABSL_FLAG(std::string, ucx, "",
          "UCX settings without the UCX_ prefix, e.g. TLS=tcp,NET_DEVICES=lo.");
ABSL_FLAG(int32_t, shutdown_grace_ms, 10000, "On SIGTERM, time in-flight requests get to finish.");

int main(int argc, char** argv) {
  baton::serving::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  namespace dw = baton::decode_worker;
  dw::DecodeWorkerOptions options;
  options.engine.model_path = absl::GetFlag(FLAGS_model);
  options.engine.num_threads = absl::GetFlag(FLAGS_threads);
  options.endpoints = {.host = absl::GetFlag(FLAGS_host),
                       .grpc_port = absl::GetFlag(FLAGS_grpc_port),
                       .http_port = absl::GetFlag(FLAGS_http_port)};
  options.engine.kv_blocks = absl::GetFlag(FLAGS_kv_blocks);
  options.engine.block_size_tokens = absl::GetFlag(FLAGS_block_size);
  absl::StatusOr<baton::engine::KvDType> dtype =
      baton::serving::ParseKvDType(absl::GetFlag(FLAGS_kv_dtype));
  if (!dtype.ok()) {
    LOG(ERROR) << "decode_worker: " << dtype.status();
    return 2;
  }
  options.engine.kv_dtype = *dtype;
  options.scheduler.max_batch_size = absl::GetFlag(FLAGS_max_batch);
  options.scheduler.prefill_chunk_tokens = absl::GetFlag(FLAGS_prefill_chunk);
  options.scheduler.default_lease = absl::Milliseconds(absl::GetFlag(FLAGS_lease_ms));
  options.scheduler.kv_checksum = absl::GetFlag(FLAGS_kv_checksum);
  options.scheduler.prefix_caching = absl::GetFlag(FLAGS_prefix_cache);
  options.max_streams = absl::GetFlag(FLAGS_max_streams);
  options.transport.kind = absl::GetFlag(FLAGS_transport);
  auto ucx = baton::serving::ParseUcxConfig(absl::GetFlag(FLAGS_ucx));
  if (!ucx.ok()) {
    LOG(ERROR) << "decode_worker: " << ucx.status();
    return 2;
  }
  options.transport.ucx_config = *ucx;
  options.transport.progress_spin = absl::Microseconds(absl::GetFlag(FLAGS_kv_progress_spin_us));
  if (absl::Status network =
          baton::serving::ApplyWorkerNetworkFlags(options.endpoints, options.transport);
      !network.ok()) {
    LOG(ERROR) << "decode_worker: " << network;
    return 2;
  }
  options.shutdown_grace = absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));

  absl::StatusOr<std::unique_ptr<dw::DecodeWorker>> worker = dw::DecodeWorker::Create(options);
  if (!worker.ok()) {
    LOG(ERROR) << "decode_worker: " << worker.status();
    return 1;
  }
  std::cout << baton::serving::ReadyLine((*worker)->grpc_port(), (*worker)->http_port())
            << std::endl;
  const int signal = baton::serving::WaitForTerminationSignal();
  LOG(INFO) << "decode_worker: signal " << signal << ", shutting down";
  (*worker)->Shutdown();
  return 0;
}
