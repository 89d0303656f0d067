#include "decode_worker/decode_worker.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "serving/kv_target_proto.h"
#include "serving/model_info.h"

namespace baton::decode_worker {

absl::StatusOr<std::unique_ptr<DecodeWorker>> DecodeWorker::Create(
    const DecodeWorkerOptions& options) {
  if (options.kv_blocks < 1 || options.block_size_tokens < 1) {
    return absl::InvalidArgumentError("kv_blocks and block_size_tokens must be positive");
  }
  auto worker = std::unique_ptr<DecodeWorker>(new DecodeWorker(options));
  ASSIGN_OR_RETURN(std::shared_ptr<const engine::Model> model,
                   engine::Model::Load(options.model_path));
  worker->model_name_ = serving::ModelName(*model, options.model_path);
  ASSIGN_OR_RETURN(worker->engine_,
                   engine::Engine::Create(model, {.num_threads = options.num_threads}));
  ASSIGN_OR_RETURN(worker->pool_,
                   worker->engine_->CreateKvPool(options.kv_dtype, options.block_size_tokens,
                                                 options.kv_blocks));
  ASSIGN_OR_RETURN(worker->transport_, serving::CreateTransport(options.transport));
  ASSIGN_OR_RETURN(worker->receiver_,
                   worker->transport_->CreateReceiver(worker->pool_->base(),
                                                      worker->pool_->num_blocks(),
                                                      worker->pool_->layout()));
  worker->registry_ = std::make_shared<prometheus::Registry>();
  worker->metrics_ = DecodeMetrics::Create(*worker->registry_);
  DecodeSchedulerOptions scheduler_options = options.scheduler;
  scheduler_options.eos_token_id = serving::EosTokenId(*model);
  ASSIGN_OR_RETURN(worker->scheduler_,
                   DecodeScheduler::Create(worker->engine_.get(), worker->pool_.get(),
                                           worker->receiver_.get(), worker->metrics_.get(),
                                           scheduler_options));
  worker->decode_service_ =
      std::make_unique<DecodeServiceImpl>(worker->scheduler_.get(), model->config());
  DecodeWorker* raw = worker.get();
  worker->load_service_ =
      std::make_unique<serving::WorkerLoadService>([raw] { return raw->Load(); });
  ASSIGN_OR_RETURN(worker->endpoints_,
                   serving::Endpoints::Start(
                       options.endpoints, {worker->decode_service_.get(),
                                           worker->load_service_.get()},
                       worker->registry_, [raw] { return !raw->shut_down_; }));
  return worker;
}

baton::internal::v1::WorkerLoad DecodeWorker::Load() const {
  const DecodeLoad load = scheduler_->Load();
  baton::internal::v1::WorkerLoad out;
  out.set_role(baton::internal::v1::WORKER_ROLE_DECODE);
  out.set_model(model_name_);
  out.set_free_kv_blocks(load.free_blocks);
  out.set_total_kv_blocks(load.total_blocks);
  out.set_running_sequences(load.running);
  out.set_waiting_sequences(load.waiting);
  out.set_queued_prompt_tokens(load.queued_prompt_tokens);
  out.set_pending_transfers(load.pending_transfers);
  *out.mutable_kv_layout() = serving::ToProto(pool_->layout());
  if (endpoints_ != nullptr) {
    out.set_address(absl::StrCat(options_.endpoints.host, ":", endpoints_->grpc_port()));
  }
  return out;
}

void DecodeWorker::Shutdown() {
  if (endpoints_ == nullptr || shut_down_.exchange(true)) return;
  endpoints_->SetNotServing();
  load_service_->Stop();
  scheduler_->Shutdown(options_.shutdown_grace);
  endpoints_->Shutdown(absl::Seconds(1));
}

}  // namespace baton::decode_worker
