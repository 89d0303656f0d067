#include "prefill_worker/prefill_worker.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/kv_cache/prefix_hash.h"

namespace baton::prefill_worker {

absl::StatusOr<std::unique_ptr<PrefillWorker>> PrefillWorker::Create(
    const PrefillWorkerOptions& options) {
  auto worker = std::unique_ptr<PrefillWorker>(new PrefillWorker(options));
  ASSIGN_OR_RETURN(worker->transport_, serving::CreateTransport(options.transport));
  ASSIGN_OR_RETURN(worker->loaded_, serving::LoadEngine(options.engine, *worker->transport_));
  worker->registry_ = std::make_shared<prometheus::Registry>();
  worker->metrics_ = PrefillMetrics::Create(*worker->registry_);
  PrefillSchedulerOptions scheduler_options = options.scheduler;
  scheduler_options.prefix_hash_seed = kv_cache::PrefixHashSeed(worker->loaded_.model_name);
  ASSIGN_OR_RETURN(worker->scheduler_,
                   PrefillScheduler::Create(worker->loaded_.engine.get(),
                                            worker->loaded_.pool.get(), worker->transport_.get(),
                                            worker->metrics_.get(), scheduler_options));
  worker->prefill_service_ = std::make_unique<PrefillServiceImpl>(
      worker->scheduler_.get(), worker->loaded_.model->config(), worker->loaded_.pool->layout(),
      options.max_calls);
  PrefillWorker* raw = worker.get();
  worker->load_service_ =
      std::make_unique<serving::WorkerLoadService>([raw] { return raw->Load(); },
                                                   worker->loaded_.pool.get());
  ASSIGN_OR_RETURN(
      worker->endpoints_,
      serving::Endpoints::Start(options.endpoints,
                                {worker->prefill_service_.get(), worker->load_service_.get()},
                                worker->registry_, [raw] { return !raw->shut_down_; }));
  return worker;
}

baton::internal::v1::WorkerLoad PrefillWorker::Load() const {
  const std::string address =
      endpoints_ == nullptr ? "" : endpoints_->advertised_grpc_address();
  baton::internal::v1::WorkerLoad load =
      serving::MakeWorkerLoad(baton::internal::v1::WORKER_ROLE_PREFILL, loaded_.model_name,
                              loaded_.pool->layout(), address, scheduler_->Load());
  load.set_draining(shut_down_);
  return load;
}

void PrefillWorker::Shutdown() {
  if (endpoints_ == nullptr || shut_down_.exchange(true)) return;
  // Load reports say draining from now on; they go on while running work finishes.
  endpoints_->SetNotServing();
  scheduler_->Shutdown(options_.shutdown_grace);
  load_service_->Stop();
  endpoints_->Shutdown(absl::Seconds(1));
}

}  // namespace baton::prefill_worker
