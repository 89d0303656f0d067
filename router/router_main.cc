// router: the process users talk to. Serves baton.v1.Inference over gRPC (with health and
// reflection) and, on its HTTP port, the OpenAI-compatible API (/v1/...), the Ollama API
// (/api/...), /health, /healthz, /metrics and /metrics/vllm (vLLM's metric names), for one GGUF
// model, in front of a decode worker and prefill workers. --tls_cert/--tls_key/--tls_ca turn on
// TLS for both APIs (HTTPS) and for the channels to the workers (common/tls_flags.h). Prints
// "READY grpc_port=N http_port=M" once listening; SIGTERM or SIGINT stop it cleanly.
//
//   router --model=m.gguf --decode=127.0.0.1:5001 --prefill=127.0.0.1:5002,127.0.0.1:5003
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "common/grpc_credentials.h"
#include "common/logging.h"
#include "common/tls_flags.h"
#include "common/metrics.h"
#include "grpcpp/grpcpp.h"
#include "router/api_keys.h"
#include "router/disagg_client.h"
#include "router/http_api.h"
#include "router/inference_service.h"
#include "router/ollama_api.h"
#include "router/openai_api.h"
#include "router/request_pipeline.h"
#include "router/router_metrics.h"
#include "router/served_model.h"
#include "serving/endpoints.h"
#include "serving/flags.h"
#include "serving/termination.h"

ABSL_FLAG(std::string, model, "", "GGUF file of the served model (its tokenizer and template).");
ABSL_FLAG(std::string, model_name, "", "Name clients use for the model (default: file name).");
ABSL_FLAG(std::string, decode, "", "host:port of the decode worker's gRPC server.");
ABSL_FLAG(std::string, prefill, "",
          "Comma-separated host:port of prefill workers (empty: the decode worker prefills).");
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
  const baton::common::ChannelFactory worker_channel =
      baton::common::MakeWorkerChannelFactory(*tls);
  std::vector<std::shared_ptr<grpc::Channel>> prefill;
  for (absl::string_view address :
       absl::StrSplit(absl::GetFlag(FLAGS_prefill), ',', absl::SkipEmpty())) {
    prefill.push_back(worker_channel(std::string(address)));
  }
  router::DisaggClient workers(worker_channel(absl::GetFlag(FLAGS_decode)), prefill);

  auto registry = std::make_shared<prometheus::Registry>();
  auto vllm_registry = std::make_shared<prometheus::Registry>();
  router::RouterMetrics metrics(*registry, *vllm_registry, (*model)->id());
  router::PipelineOptions pipeline_options;
  pipeline_options.max_running = absl::GetFlag(FLAGS_max_running);
  pipeline_options.max_waiting = absl::GetFlag(FLAGS_max_waiting);
  pipeline_options.local_prefill = prefill.empty();
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
