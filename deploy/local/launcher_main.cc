// baton_local: the local cluster in one command. Starts N prefill workers, M decode workers and a
// router on this machine for one GGUF model, waits until each answers SERVING on gRPC health,
// prints the endpoints, a ready-to-paste curl line and OpenAI / Ollama client settings, and on
// Ctrl-C or SIGTERM stops the router (its requests finish) and then the workers, leaving no
// process and no port behind. Without --model it says how to get one and serves a small
// random-weight model so that the pipeline can still be tried.
//
//   baton_local --model=m.gguf --prefill_workers=2 --decode_workers=2 --threads=2
//
// Prints "READY grpc_port=N http_port=M" (the router's) as its last start-up line.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <climits>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/tls_flags.h"
#include "deploy/local/cluster_plan.h"
#include "deploy/local/supervisor.h"
#include "engine/model/random_model.h"
#include "serving/flags.h"

ABSL_FLAG(std::string, model, "", "GGUF model to serve (empty: a small random-weight model).");
ABSL_FLAG(std::string, model_name, "baton", "Name clients use for the model.");
ABSL_FLAG(int32_t, prefill_workers, 1, "Prefill workers.");
ABSL_FLAG(int32_t, decode_workers, 1, "Decode workers.");
ABSL_FLAG(bool, colocated, false, "No prefill workers: the decode workers prefill themselves.");
ABSL_FLAG(int32_t, threads, 1, "Threads per worker engine step.");
ABSL_FLAG(std::string, host, "127.0.0.1", "Address every process listens on.");
ABSL_FLAG(int32_t, http_port, 8000, "Router's HTTP port (OpenAI, Ollama, /metrics; 0: any).");
ABSL_FLAG(int32_t, grpc_port, 8001, "Router's gRPC port (baton.v1.Inference; 0: any).");
ABSL_FLAG(int32_t, worker_port_base, 0,
          "First worker port (each worker takes two: gRPC, HTTP); 0: free ports.");
ABSL_FLAG(std::string, transport, "ucx", "Workers' KV transport (ucx, nccl, inprocess).");
ABSL_FLAG(std::string, ucx_tls, "", "UCX_TLS for the workers (e.g. tcp, shm); empty: UCX picks.");
ABSL_FLAG(std::string, bin_dir, "",
          "Directory holding router/router, prefill_worker/..., decode_worker/... (default: the "
          "Bazel output tree this launcher lives in).");
ABSL_FLAG(std::string, log_dir, "", "Where each process's log goes (default: a new /tmp dir).");
ABSL_FLAG(int32_t, ready_timeout_s, 300, "Longest a process may take to become healthy.");
ABSL_FLAG(int32_t, stop_timeout_s, 30,
          "On Ctrl-C/SIGTERM, how long each stage (router, then workers) may take to exit "
          "before it is killed.");

namespace {

namespace deploy = baton::deploy;

// <dir of this executable>/../.. : bazel-bin for bazel-bin/deploy/local/baton_local.
std::string DefaultBinDir() {
  char path[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return ".";
  std::string dir(path, static_cast<size_t>(n));
  for (int i = 0; i < 3; ++i) dir = dir.substr(0, dir.rfind('/'));
  return dir;
}

std::string MakeLogDir() {
  if (!absl::GetFlag(FLAGS_log_dir).empty()) return absl::GetFlag(FLAGS_log_dir);
  char dir[] = "/tmp/baton-local.XXXXXX";
  return mkdtemp(dir) == nullptr ? "/tmp" : dir;
}

// The tls_* flags exactly as given, for the children.
std::vector<std::string> TlsFlagsAsGiven(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--tls_", 0) == 0 || arg.rfind("-tls_", 0) == 0) out.push_back(arg);
  }
  return out;
}

absl::StatusOr<std::string> ModelOrRandom(const std::string& log_dir) {
  if (!absl::GetFlag(FLAGS_model).empty()) return absl::GetFlag(FLAGS_model);
  std::cerr
      << "baton_local: no --model given.\n"
         "  To serve a real model, download a GGUF file of the Llama, Mistral or Qwen family\n"
         "  (4-, 8- or 16-bit, e.g. a Q4_0 or Q8_0 file from a Hugging Face model page whose\n"
         "  name ends in -GGUF) and pass --model=/path/to/model.gguf (deploy/local/run.sh:\n"
         "  MODEL=/path/to/model.gguf). Until then a small random-weight model is served: the\n"
         "  whole pipeline works, its text is gibberish.\n";
  baton::engine::RandomModelSpec spec;
  spec.type = baton::engine::TensorType::kQ4_0;
  const std::string path = absl::StrCat(log_dir, "/random-q4_0.gguf");
  absl::Status written = baton::engine::WriteRandomModel(spec, path);
  if (!written.ok()) return written;
  return path;
}

std::string Dialable(const std::string& host, int port) {
  const bool wildcard = host == "0.0.0.0" || host == "::" || host.empty();
  return absl::StrCat(wildcard ? "127.0.0.1" : host, ":", port);
}

void PrintEndpoints(const deploy::LaunchOptions& options, const deploy::Child& router,
                    const std::vector<deploy::Child*>& workers, const std::string& log_dir,
                    bool https, const std::string& ca_file) {
  const std::string base =
      absl::StrCat(https ? "https://" : "http://", Dialable(options.host, router.http_port));
  const std::string curl_tls = https ? absl::StrCat(" --cacert ", ca_file) : "";
  const int prefill = options.colocated ? 0 : options.prefill_workers;
  std::cout << "\nbaton local cluster: model \"" << options.model_name << "\" (" << options.model
            << "), " << prefill << " prefill + " << options.decode_workers
            << " decode workers, KV over " << options.transport << "\n";
  std::cout << "  router      OpenAI " << base << "/v1   Ollama " << base << "   gRPC "
            << Dialable(options.host, router.grpc_port) << " (baton.v1.Inference)   metrics "
            << base << "/metrics   pid " << router.pid << "\n";
  for (const deploy::Child* w : workers) {
    const size_t pad = 12 - std::min<size_t>(11, w->spec.name.size());
    std::cout << "  " << w->spec.name << std::string(pad, ' ')
              << "gRPC " << Dialable(options.host, w->grpc_port) << "   metrics http://"
              << Dialable(options.host, w->http_port) << "/metrics   pid " << w->pid << "\n";
  }
  std::cout << "  logs        " << log_dir << "\n\nTry it:\n  curl -s" << curl_tls << " " << base
            << "/v1/chat/completions -H 'Content-Type: application/json' -d '{\"model\": \""
            << options.model_name
            << "\", \"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story\"}], "
               "\"max_tokens\": 64}'\n\n"
            << "OpenAI clients: base_url=" << base << "/v1  api_key=any  model="
            << options.model_name << "\n"
            << "Ollama clients: OLLAMA_HOST=" << base << "  (ollama run " << options.model_name
            << ", Open WebUI), model " << options.model_name << "\n"
            << "Stop with Ctrl-C or SIGTERM: every process stops, every port is freed.\n"
            << baton::serving::ReadyLine(router.grpc_port, router.http_port) << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  deploy::BlockSignals();
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<baton::common::TlsMaterial> tls = baton::common::TlsFromFlags();
  if (!tls.ok()) {
    std::cerr << "baton_local: " << tls.status() << "\n";
    return 2;
  }
  const std::string log_dir = MakeLogDir();
  absl::StatusOr<std::string> model = ModelOrRandom(log_dir);
  if (!model.ok()) {
    std::cerr << "baton_local: " << model.status() << "\n";
    return 1;
  }
  deploy::LaunchOptions options;
  options.bin_dir =
      absl::GetFlag(FLAGS_bin_dir).empty() ? DefaultBinDir() : absl::GetFlag(FLAGS_bin_dir);
  options.model = *model;
  options.model_name = absl::GetFlag(FLAGS_model_name);
  options.prefill_workers = absl::GetFlag(FLAGS_prefill_workers);
  options.decode_workers = absl::GetFlag(FLAGS_decode_workers);
  options.colocated = absl::GetFlag(FLAGS_colocated);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.host = absl::GetFlag(FLAGS_host);
  options.http_port = absl::GetFlag(FLAGS_http_port);
  options.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  options.worker_port_base = absl::GetFlag(FLAGS_worker_port_base);
  options.transport = absl::GetFlag(FLAGS_transport);
  options.ucx_tls = absl::GetFlag(FLAGS_ucx_tls);
  options.tls_flags = TlsFlagsAsGiven(argc, argv);
  if (absl::Status valid = deploy::ValidateLaunch(options); !valid.ok()) {
    std::cerr << "baton_local: " << valid << "\n";
    return 2;
  }

  const absl::Duration ready_timeout = absl::Seconds(absl::GetFlag(FLAGS_ready_timeout_s));
  const std::string health_host = Dialable(options.host, 0).substr(
      0, Dialable(options.host, 0).rfind(':'));
  deploy::Supervisor supervisor(log_dir, health_host, *tls);
  std::vector<deploy::Child*> workers;
  std::vector<deploy::Child*> router_group;
  auto stop = [&](int code) {
    std::cerr << "baton_local: stopping (logs in " << log_dir << ")\n";
    supervisor.StopAll({router_group, workers}, absl::Seconds(absl::GetFlag(FLAGS_stop_timeout_s)));
    std::cerr << "baton_local: stopped\n";
    return code;
  };

  // Workers load their models concurrently; then each is awaited.
  for (const deploy::ChildSpec& spec : deploy::WorkerSpecs(options)) {
    absl::StatusOr<deploy::Child*> child = supervisor.Start(spec);
    if (!child.ok()) {
      std::cerr << "baton_local: " << child.status() << "\n";
      return stop(1);
    }
    workers.push_back(*child);
  }
  std::vector<std::string> decode, prefill;
  for (deploy::Child* worker : workers) {
    if (absl::Status ready = supervisor.AwaitReady(*worker, ready_timeout); !ready.ok()) {
      std::cerr << "baton_local: " << ready << "\n";
      return stop(ready.code() == absl::StatusCode::kCancelled ? 0 : 1);
    }
    const bool is_decode = worker->spec.name.rfind("decode", 0) == 0;
    (is_decode ? decode : prefill).push_back(Dialable(options.host, worker->grpc_port));
  }
  absl::StatusOr<deploy::Child*> router =
      supervisor.Start(deploy::RouterSpec(options, decode, prefill));
  if (!router.ok()) {
    std::cerr << "baton_local: " << router.status() << "\n";
    return stop(1);
  }
  router_group.push_back(*router);
  if (absl::Status ready = supervisor.AwaitReady(**router, ready_timeout); !ready.ok()) {
    std::cerr << "baton_local: " << ready << "\n";
    return stop(ready.code() == absl::StatusCode::kCancelled ? 0 : 1);
  }
  const bool https = tls->serves_tls();
  std::string ca_file;
  for (const std::string& flag : options.tls_flags) {
    if (flag.rfind("--tls_ca=", 0) == 0) ca_file = flag.substr(9);
  }
  PrintEndpoints(options, **router, workers, log_dir, https, ca_file);

  const deploy::Child* exited = nullptr;
  const int signal = supervisor.AwaitStop(&exited);
  if (signal == 0) {
    std::cerr << "baton_local: " << exited->spec.name << " exited with status "
              << exited->exit_code << "; the end of its log:\n"
              << deploy::TailOf(exited->log_path, 20) << "\n";
    return stop(1);
  }
  return stop(0);
}
