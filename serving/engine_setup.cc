#include "serving/engine_setup.h"

#include "common/status_macros.h"
#include "kvtransfer/kv_target_proto.h"
#include "serving/model_info.h"

namespace baton::serving {

absl::StatusOr<LoadedEngine> LoadEngine(const EngineSetup& setup,
                                        kvtransfer::KvTransport& transport) {
  if (setup.kv_blocks < 1 || setup.block_size_tokens < 1) {
    return absl::InvalidArgumentError("kv_blocks and block_size_tokens must be positive");
  }
  LoadedEngine out;
  ASSIGN_OR_RETURN(out.model, engine::Model::Load(setup.model_path));
  out.model_name = ModelName(*out.model, setup.model_path);
  ASSIGN_OR_RETURN(out.engine,
                   engine::Engine::Create(out.model, {.num_threads = setup.num_threads}));
  const engine::KvLayout layout = out.engine->MakeKvLayout(setup.kv_dtype, setup.block_size_tokens);
  ASSIGN_OR_RETURN(engine::PoolMemory memory,
                   transport.AllocatePoolMemory(layout.PoolBytes(setup.kv_blocks)));
  ASSIGN_OR_RETURN(out.pool, engine::KvPool::Create(layout, setup.kv_blocks, std::move(memory)));
  return out;
}

baton::internal::v1::WorkerLoad MakeWorkerLoad(baton::internal::v1::WorkerRole role,
                                               const std::string& model_name,
                                               const engine::KvLayout& layout,
                                               const std::string& address,
                                               const LoadCounts& counts) {
  baton::internal::v1::WorkerLoad out;
  out.set_role(role);
  out.set_model(model_name);
  out.set_free_kv_blocks(counts.free_blocks);
  out.set_total_kv_blocks(counts.total_blocks);
  out.set_running_sequences(counts.running);
  out.set_waiting_sequences(counts.waiting);
  out.set_queued_prompt_tokens(counts.queued_prompt_tokens);
  out.set_pending_transfers(counts.pending_transfers);
  out.set_cached_kv_blocks(counts.cached_blocks);
  *out.mutable_kv_layout() = kvtransfer::KvLayoutToProto(layout);
  out.set_address(address);
  return out;
}

}  // namespace baton::serving
