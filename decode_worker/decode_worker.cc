#include "decode_worker/decode_worker.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/kv_cache/prefix_hash.h"
#include "engine/tokenizer/gguf_vocab.h"

namespace baton::decode_worker {

absl::StatusOr<std::unique_ptr<DecodeWorker>> DecodeWorker::Create(
    const DecodeWorkerOptions& options) {
  auto worker = std::unique_ptr<DecodeWorker>(new DecodeWorker(options));
  ASSIGN_OR_RETURN(worker->transport_, serving::CreateTransport(options.transport));
  ASSIGN_OR_RETURN(worker->loaded_, serving::LoadEngine(options.engine, *worker->transport_));
  ASSIGN_OR_RETURN(worker->receiver_,
                   worker->transport_->CreateReceiver(worker->loaded_.pool->base(),
                                                      worker->loaded_.pool->num_blocks(),
                                                      worker->loaded_.pool->layout()));
  worker->registry_ = std::make_shared<prometheus::Registry>();
  worker->metrics_ = DecodeMetrics::Create(*worker->registry_);
  DecodeSchedulerOptions scheduler_options = options.scheduler;
  ASSIGN_OR_RETURN(scheduler_options.end_of_generation_ids,
                   engine::tokenizer::LoadEndOfGenerationIds(worker->loaded_.model->file()));
  scheduler_options.prefix_hash_seed = kv_cache::PrefixHashSeed(worker->loaded_.model_name);
  ASSIGN_OR_RETURN(
      worker->scheduler_,
      DecodeScheduler::Create(worker->loaded_.engine.get(), worker->loaded_.pool.get(),
                              worker->receiver_.get(), worker->metrics_.get(), scheduler_options));
  worker->decode_service_ = std::make_unique<DecodeServiceImpl>(
      worker->scheduler_.get(), worker->loaded_.model->config(), options.max_streams);
  DecodeWorker* raw = worker.get();
  worker->load_service_ =
      std::make_unique<serving::WorkerLoadService>([raw] { return raw->Load(); },
                                                   worker->loaded_.pool.get());
  ASSIGN_OR_RETURN(
      worker->endpoints_,
      serving::Endpoints::Start(options.endpoints,
                                {worker->decode_service_.get(), worker->load_service_.get()},
                                worker->registry_, [raw] { return !raw->shut_down_; }));
  return worker;
}

baton::internal::v1::WorkerLoad DecodeWorker::Load() const {
  const std::string address =
      endpoints_ == nullptr ? "" : endpoints_->advertised_grpc_address();
  baton::internal::v1::WorkerLoad load =
      serving::MakeWorkerLoad(baton::internal::v1::WORKER_ROLE_DECODE, loaded_.model_name,
                              loaded_.pool->layout(), address, scheduler_->Load());
  load.set_draining(shut_down_);
  return load;
}

void DecodeWorker::Shutdown() {
  if (endpoints_ == nullptr || shut_down_.exchange(true)) return;
  // Load reports say draining from now on; they go on while running work finishes.
  endpoints_->SetNotServing();
  scheduler_->Shutdown(options_.shutdown_grace);
  load_service_->Stop();
  endpoints_->Shutdown(absl::Seconds(1));
}

}  // namespace baton::decode_worker
