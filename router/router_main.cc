// router: the process users talk to. Serves baton.v1.Inference over gRPC (with health and
// reflection) and, on its HTTP port, the OpenAI-compatible API (/v1/...), the Ollama API
// (/api/...), /health, /healthz, /metrics and /metrics/vllm (vLLM's metric names), for one GGUF
// model, in front of pools of decode and prefill workers (WorkerPool, a RoutingPolicy, FleetRunner).
// --tls_cert/--tls_key/--tls_ca turn on TLS for both APIs (HTTPS) and for the channels to the
// workers (common/tls_flags.h). Prints "READY grpc_port=N http_port=M" once listening; SIGTERM
// or SIGINT stop it cleanly.
//
//   router --model=m.gguf --decode=127.0.0.1:5001,dns:///decode.svc:5001
//          --prefill=127.0.0.1:5002,127.0.0.1:5003 --routing_policy=prefix_aware
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/grpc_credentials.h"
#include "common/logging.h"
#include "common/tls_flags.h"
#include "common/metrics.h"
#include "grpcpp/grpcpp.h"
#include "router/api_keys.h"
#include "router/fleet_metrics.h"
#include "router/fleet_runner.h"
#include "router/http_api.h"
#include "router/inference_service.h"
#include "router/ollama_api.h"
#include "router/openai_api.h"
#include "router/request_pipeline.h"
#include "router/router_metrics.h"
#include "router/routing_policy.h"
#include "router/served_model.h"
#include "router/worker_addresses.h"
#include "router/worker_pool.h"
#include "serving/endpoints.h"
#include "serving/flags.h"
#include "serving/monotonic_clock.h"
#include "serving/termination.h"

ABSL_FLAG(std::string, model, "", "GGUF file of the served model (its tokenizer and template).");
ABSL_FLAG(std::string, model_name, "", "Name clients use for the model (default: file name).");
ABSL_FLAG(std::string, decode, "",
          "Comma-separated decode workers' gRPC addresses: host:port, or dns:///name:port for "
          "every address the name resolves to.");
ABSL_FLAG(std::string, prefill, "",
          "Comma-separated prefill workers, as --decode (empty: decode workers prefill).");
ABSL_FLAG(int32_t, resolve_interval_s, 10, "Seconds between look-ups of dns:/// worker names.");
ABSL_FLAG(std::string, routing_policy, "prefix_aware",
          "How workers are picked: round_robin, least_loaded, two_choices or prefix_aware.");
ABSL_FLAG(double, prefix_overlap_weight, 8.0,
          "prefix_aware, decode pool: how many sequences of load a worker holding the whole "
          "prompt in its prefix cache outweighs (default measured: docs/BENCHMARKS.md).");
ABSL_FLAG(int32_t, local_prefill_max_tokens, 32,
          "A decode worker prefills a request itself when its prefix cache leaves at most this "
          "many prompt tokens to compute (0: never on its own account; default measured: "
          "docs/BENCHMARKS.md).");
ABSL_FLAG(int64_t, prefill_saturated_tokens, 65536,
          "A prefill worker with this many queued prompt tokens is saturated; when all are, "
          "decode workers prefill (0: never; docs/BENCHMARKS.md).");
ABSL_FLAG(int32_t, max_prefill_attempts, 3, "Prefill workers tried per request before the "
          "decode worker prefills it.");
ABSL_FLAG(int32_t, max_decode_attempts, 3,
          "Decode workers tried when one refuses a request before streaming.");
ABSL_FLAG(int32_t, max_migrations, 3,
          "Times a stream may move to another decode worker when its worker fails (0: off).");
ABSL_FLAG(int32_t, prefill_timeout_s, 60, "Longest one prefill attempt may take.");
ABSL_FLAG(int32_t, startup_wait_s, 10,
          "Before listening, how long to wait for every listed worker to join the pool.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on (0.0.0.0: every interface).");
ABSL_FLAG(int32_t, grpc_port, 8001, "Port of the gRPC API (0: any free port).");
ABSL_FLAG(int32_t, http_port, 8000, "Port of the HTTP APIs (0: any free port).");
ABSL_FLAG(std::string, api_keys_file, "",
          "File with one API key per line; when set, requests need 'Bearer <key>'.");
ABSL_FLAG(int32_t, max_running, 64, "Requests running at once.");
ABSL_FLAG(int32_t, max_waiting, 256, "Requests waiting for admission beyond those; more get 429.");
ABSL_FLAG(int64_t, max_body_bytes, 4 << 20, "Largest HTTP request body (larger: 413).");
ABSL_FLAG(int32_t, request_timeout_s, 600, "Longest a request may take.");
ABSL_FLAG(int32_t, shutdown_grace_ms, 5000, "On SIGTERM, time in-flight requests get to finish.");

namespace {

int Fail(const absl::Status& status) {
  LOG(ERROR) << "router: " << status;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  baton::serving::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  namespace router = baton::router;
  if (absl::GetFlag(FLAGS_model).empty() || absl::GetFlag(FLAGS_decode).empty()) {
    std::cerr << "router: --model and --decode are required\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<router::ServedModel>> model =
      router::ServedModel::Load(absl::GetFlag(FLAGS_model), absl::GetFlag(FLAGS_model_name));
  if (!model.ok()) return Fail(model.status());
  router::ApiKeys api_keys;
  if (!absl::GetFlag(FLAGS_api_keys_file).empty()) {
    absl::StatusOr<router::ApiKeys> keys = router::ApiKeys::FromFile(absl::GetFlag(FLAGS_api_keys_file));
    if (!keys.ok()) return Fail(keys.status());
    api_keys = std::move(*keys);
  }

  // With --tls_cert: TLS on the public gRPC API and HTTPS on the HTTP port; with --tls_ca: TLS
  // (mutual with --tls_cert) to the workers. Every worker channel comes from this factory.
  absl::StatusOr<baton::common::TlsMaterial> tls = baton::common::TlsFromFlags();
  if (!tls.ok()) return Fail(tls.status());
  const router::ChannelFactory channels =
      baton::common::MakeWorkerChannelFactory(*tls, router::WorkerChannelArguments());
  router::WorkerPoolOptions pool_options;
  pool_options.prefill = absl::GetFlag(FLAGS_prefill);
  pool_options.decode = absl::GetFlag(FLAGS_decode);
  pool_options.resolve_interval = absl::Seconds(absl::GetFlag(FLAGS_resolve_interval_s));
  absl::StatusOr<std::unique_ptr<router::WorkerPool>> pool = router::WorkerPool::Create(
      pool_options, channels, router::DnsResolver(), baton::serving::SteadyClock::Get());
  if (!pool.ok()) return Fail(pool.status());
  (*pool)->StartMaintenance(absl::Milliseconds(100));
  absl::StatusOr<std::unique_ptr<router::RoutingPolicy>> policy =
      router::MakeRoutingPolicy(
          absl::GetFlag(FLAGS_routing_policy),
          {.seed = std::random_device{}(),
           .prefix_overlap_weight = absl::GetFlag(FLAGS_prefix_overlap_weight)});
  if (!policy.ok()) return Fail(policy.status());
  const auto all_joined = [](const router::WorkerPool& p) {
    for (auto role : {baton::internal::v1::WORKER_ROLE_PREFILL,
                      baton::internal::v1::WORKER_ROLE_DECODE}) {
      for (const std::string& address : p.Addresses(role)) {
        if (!p.InPool(address)) return false;
      }
    }
    return true;
  };
  if (!(*pool)->WaitFor(all_joined, absl::Seconds(absl::GetFlag(FLAGS_startup_wait_s)))) {
    LOG(WARNING) << "router: not every listed worker is healthy yet; serving with those that are";
  }

  auto registry = std::make_shared<prometheus::Registry>();
  auto vllm_registry = std::make_shared<prometheus::Registry>();
  router::RouterMetrics metrics(*registry, *vllm_registry, (*model)->id());
  router::FleetMetrics fleet_metrics(*registry, absl::GetFlag(FLAGS_routing_policy));
  router::FleetOptions fleet_options;
  fleet_options.local_prefill_max_tokens = absl::GetFlag(FLAGS_local_prefill_max_tokens);
  fleet_options.prefill_saturated_tokens = absl::GetFlag(FLAGS_prefill_saturated_tokens);
  fleet_options.max_prefill_attempts = absl::GetFlag(FLAGS_max_prefill_attempts);
  fleet_options.max_decode_attempts = absl::GetFlag(FLAGS_max_decode_attempts);
  fleet_options.max_migrations = absl::GetFlag(FLAGS_max_migrations);
  fleet_options.prefill_attempt_timeout = absl::Seconds(absl::GetFlag(FLAGS_prefill_timeout_s));
  router::FleetRunner workers(pool->get(), policy->get(), &fleet_metrics, fleet_options);
  router::PipelineOptions pipeline_options;
  pipeline_options.max_running = absl::GetFlag(FLAGS_max_running);
  pipeline_options.max_waiting = absl::GetFlag(FLAGS_max_waiting);
  pipeline_options.local_prefill = absl::GetFlag(FLAGS_prefill).empty();
  pipeline_options.request_timeout = absl::Seconds(absl::GetFlag(FLAGS_request_timeout_s));
  router::RequestPipeline pipeline(model->get(), &workers, &metrics, pipeline_options);
  router::InferenceService grpc_service(&pipeline, &api_keys, &metrics);

  router::HttpApiOptions http_options;
  http_options.api_keys = &api_keys;
  http_options.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  http_options.count_request = [&metrics](std::string_view endpoint, int status) {
    metrics.CountRequest(endpoint, std::to_string(status));
  };
  baton::serving::EndpointOptions endpoint_options{.host = absl::GetFlag(FLAGS_host),
                                                   .grpc_port = absl::GetFlag(FLAGS_grpc_port),
                                                   .http_port = absl::GetFlag(FLAGS_http_port),
                                                   .tls = *tls,
                                                   .https = tls->serves_tls()};
  endpoint_options.mount_http_routes = [&](baton::common::HttpServer& server) {
    server.Handle("/health", [](const baton::common::HttpRequest&,
                                baton::common::HttpResponseWriter& out) {
      out.Send(200, "application/json", "{\"status\":\"ok\"}");
    });
    server.Handle("/metrics/vllm", [vllm_registry](const baton::common::HttpRequest&,
                                                   baton::common::HttpResponseWriter& out) {
      out.Send(200, "text/plain; version=0.0.4", baton::common::SerializeMetrics(*vllm_registry));
    });
    router::MountOpenAiApi(server, pipeline, http_options);
    router::MountOllamaApi(server, pipeline, http_options);
  };
  absl::StatusOr<std::unique_ptr<baton::serving::Endpoints>> endpoints =
      baton::serving::Endpoints::Start(endpoint_options, {&grpc_service}, registry,
                                       [] { return true; });
  if (!endpoints.ok()) return Fail(endpoints.status());
  std::cout << baton::serving::ReadyLine((*endpoints)->grpc_port(), (*endpoints)->http_port())
            << std::endl;
  const int signal = baton::serving::WaitForTerminationSignal();
  LOG(INFO) << "router: signal " << signal << ", shutting down";
  (*endpoints)->SetNotServing();
  (*endpoints)->Shutdown(absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms)));
  return 0;
}
