#include "prefill_worker/prefill_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "serving/first_token.h"

namespace baton::prefill_worker {

namespace v1 = ::baton::internal::v1;

struct PrefillScheduler::Request {
  enum class State { kQueued, kComputing, kTransferring };

  uint64_t id = 0;
  PrefillJob job;
  State state = State::kQueued;
  engine::BlockTable table;
  std::unique_ptr<kvtransfer::KvWriteStream> stream;
  // WriteLayer/Finish callbacks that have not run yet; the scratch blocks stay until zero.
  int32_t outstanding = 0;
  bool replied = false;
  absl::Time submitted;
  absl::Time compute_started;
  absl::Time compute_done;
  absl::Time first_write = absl::InfinitePast();
  v1::PrefillResponse response;
};

absl::StatusOr<std::unique_ptr<PrefillScheduler>> PrefillScheduler::Create(
    engine::Engine* engine, engine::KvPool* pool, kvtransfer::KvTransport* transport,
    PrefillMetrics* metrics, const PrefillSchedulerOptions& options) {
  if (engine == nullptr || pool == nullptr || transport == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("engine, pool, transport and metrics are required");
  }
  if (options.max_batch_tokens < 1 || options.max_batch_size < 1 || options.max_queue < 1) {
    return absl::InvalidArgumentError(
        "max_batch_tokens, max_batch_size and max_queue must be positive");
  }
  auto scheduler = std::unique_ptr<PrefillScheduler>(
      new PrefillScheduler(engine, pool, transport, metrics, options));
  scheduler->StartLoop();
  return scheduler;
}

PrefillScheduler::PrefillScheduler(engine::Engine* engine, engine::KvPool* pool,
                                   kvtransfer::KvTransport* transport, PrefillMetrics* metrics,
                                   const PrefillSchedulerOptions& options)
    : engine_(engine), pool_(pool), transport_(transport), metrics_(metrics), options_(options) {}

PrefillScheduler::~PrefillScheduler() { Shutdown(absl::ZeroDuration()); }

uint64_t PrefillScheduler::Submit(PrefillJob job) {
  const uint64_t id = next_id_.fetch_add(1);
  prefill_internal::Command command = SubmitCmd{id, std::move(job)};
  if (!PostIfAccepting(command)) {
    std::get<SubmitCmd>(command).job.result->Push(
        absl::UnavailableError("prefill worker is shutting down"));
  }
  return id;
}

void PrefillScheduler::Cancel(uint64_t id) { Post(CancelCmd{id}); }

void PrefillScheduler::Handle(prefill_internal::Command& command) {
  if (auto* submit = std::get_if<SubmitCmd>(&command)) return OnSubmit(*submit);
  if (auto* cancel = std::get_if<CancelCmd>(&command)) return OnCancel(*cancel);
  OnTransferDone(std::get<TransferDoneCmd>(command));
}

void PrefillScheduler::CancelAll() {
  std::vector<uint64_t> ids;
  for (const auto& [id, request] : requests_) ids.push_back(id);
  for (uint64_t id : ids) OnCancel(CancelCmd{id});
}

void PrefillScheduler::OnSubmit(SubmitCmd& cmd) {
  auto request = std::make_unique<Request>();
  request->id = cmd.id;
  request->job = std::move(cmd.job);
  request->submitted = absl::Now();
  const int32_t need = pool_->layout().BlocksFor(request->job.prompt.size());
  if (need > pool_->num_blocks()) {
    metrics_->rejected->Increment();
    request->job.result->Push(absl::ResourceExhaustedError(
        absl::StrCat("prompt of ", request->job.prompt.size(), " tokens needs ", need,
                     " scratch KV blocks; this prefill worker has ", pool_->num_blocks())));
    return;
  }
  if (static_cast<int32_t>(queue_.size()) >= options_.max_queue) {
    metrics_->rejected->Increment();
    request->job.result->Push(absl::ResourceExhaustedError(
        absl::StrCat("prefill queue full (", queue_.size(), " requests)")));
    return;
  }
  metrics_->requests->Increment();
  queue_.push_back(request->id);
  requests_.emplace(request->id, std::move(request));
}

void PrefillScheduler::OnCancel(const CancelCmd& cmd) {
  auto it = requests_.find(cmd.id);
  if (it == requests_.end()) return;
  Request& request = *it->second;
  if (!request.replied) metrics_->cancelled->Increment();
  if (request.stream != nullptr) request.stream->Cancel();
  std::erase(queue_, request.id);
  std::erase(computing_, request.id);
  // A transferring request is answered by its Finish callback (with the abort status).
  if (request.state != Request::State::kTransferring) {
    Reply(request, absl::CancelledError("prefill request cancelled"));
  }
}

void PrefillScheduler::OnTransferDone(TransferDoneCmd& cmd) {
  auto it = requests_.find(cmd.id);
  if (it == requests_.end()) return;
  Request& request = *it->second;
  --request.outstanding;
  if (cmd.finish) {
    if (cmd.status.ok()) {
      const absl::Time now = absl::Now();
      const double transfer_seconds = absl::ToDoubleSeconds(now - request.first_write);
      v1::PrefillTimings* timings = request.response.mutable_timings();
      timings->set_queue_seconds(
          absl::ToDoubleSeconds(request.compute_started - request.submitted));
      timings->set_compute_seconds(
          absl::ToDoubleSeconds(request.compute_done - request.compute_started));
      timings->set_transfer_seconds(transfer_seconds);
      const engine::KvLayout& layout = pool_->layout();
      const uint64_t bytes = static_cast<uint64_t>(layout.num_layers) *
                             request.response.blocks_sent() * layout.LayerBlockBytes();
      request.response.set_kv_bytes(bytes);
      metrics_->transfer_bytes->Increment(static_cast<double>(bytes));
      metrics_->transfer_seconds->Observe(transfer_seconds);
      Reply(request, request.response);
    } else {
      metrics_->transfer_failures->Increment();
      Reply(request, cmd.status);
    }
    return;  // Reply may have forgotten the request
  }
  MaybeForget(request);
}

void PrefillScheduler::Reply(Request& request, absl::StatusOr<v1::PrefillResponse> result) {
  if (!request.replied) {
    request.replied = true;
    if (!result.ok() && result.status().code() != absl::StatusCode::kCancelled) {
      metrics_->failed->Increment();
      LOG(WARNING) << "prefill request " << request.job.request_id
                   << " failed: " << result.status();
    }
    request.job.result->Push(std::move(result));
  }
  MaybeForget(request);
}

void PrefillScheduler::MaybeForget(Request& request) {
  if (!request.replied || request.outstanding > 0) return;
  CHECK_OK(request.table.Release(*pool_));
  std::erase(queue_, request.id);
  std::erase(computing_, request.id);
  requests_.erase(request.id);
}

bool PrefillScheduler::Start(Request& request) {
  const serving::WireKvTarget& target = request.job.target;
  if (absl::Now() >= request.job.deadline) {
    Reply(request, absl::DeadlineExceededError(absl::StrCat(
                       "deadline of request ", request.job.request_id, " passed while queued")));
    return true;
  }
  const std::vector<int32_t>& prompt = request.job.prompt;
  const int32_t prompt_len = static_cast<int32_t>(prompt.size());
  if (options_.prefix_caching) {
    // Up to the block holding the last token: its logits are computed here.
    request.table.AdoptCachedPrefix(*pool_, options_.prefix_hash_seed, prompt,
                                    (prompt_len - 1) / pool_->layout().block_size_tokens);
  }
  if (!request.table.Reserve(*pool_, prompt_len).ok()) {
    CHECK_OK(request.table.Release(*pool_));  // retried from scratch when blocks are free
    return false;
  }
  const int32_t cached_tokens = request.table.num_tokens();
  const int32_t skip = target.cached_prefix_blocks;
  request.response.set_cached_prompt_tokens(cached_tokens);
  request.response.set_computed_prompt_tokens(prompt_len - cached_tokens);
  request.response.set_blocks_sent(static_cast<int32_t>(request.table.blocks().size()) - skip);
  metrics_->prefix_cache->AddHitTokens(cached_tokens);
  kvtransfer::KvSource source;
  source.pool_base = pool_->base();
  source.pool_num_blocks = pool_->num_blocks();
  source.layout = pool_->layout();
  source.block_ids.assign(request.table.blocks().begin() + skip, request.table.blocks().end());
  absl::StatusOr<std::unique_ptr<kvtransfer::KvWriteStream>> stream = transport_->StartWrite(
      serving::BlocksToWrite(target), std::move(source), request.job.deadline);
  if (!stream.ok()) {
    metrics_->transfer_failures->Increment();
    Reply(request, stream.status());
    return true;
  }
  request.stream = *std::move(stream);
  request.state = Request::State::kComputing;
  request.compute_started = absl::Now();
  metrics_->queue_seconds->Observe(
      absl::ToDoubleSeconds(request.compute_started - request.submitted));
  computing_.push_back(request.id);
  return true;
}

bool PrefillScheduler::RunStep() {
  const size_t max_batch = static_cast<size_t>(options_.max_batch_size);
  while (!queue_.empty() && computing_.size() < max_batch) {
    const uint64_t id = queue_.front();
    if (!Start(*requests_.at(id))) break;  // no scratch blocks now; keep arrival order
    std::erase(queue_, id);                // started, or answered (and possibly forgotten)
  }
  if (computing_.empty()) return false;

  std::vector<Request*> batch;
  std::vector<engine::SequenceStep> steps;
  std::vector<Request*> finishing;
  int32_t budget = options_.max_batch_tokens;
  int32_t batch_tokens = 0;
  for (uint64_t id : computing_) {
    if (budget <= 0) break;
    Request& request = *requests_.at(id);
    const int32_t start = request.table.num_tokens();
    const int32_t remaining = static_cast<int32_t>(request.job.prompt.size()) - start;
    const int32_t chunk = std::min(remaining, budget);
    const bool last = chunk == remaining;
    budget -= chunk;
    batch_tokens += chunk;
    batch.push_back(&request);
    if (last) finishing.push_back(&request);
    steps.push_back(engine::SequenceStep{
        .block_table = request.table.blocks(),
        .tokens = std::span<const int32_t>(request.job.prompt).subspan(start, chunk),
        .start_pos = start,
        .logits = last ? engine::LogitsMode::kLast : engine::LogitsMode::kNone});
  }

  // Ship layer l of every prompt that completes in this step while layer l + 1 computes.
  auto on_layer_done = [&](int32_t layer) {
    for (Request* request : finishing) {
      if (request->first_write == absl::InfinitePast()) request->first_write = absl::Now();
      ++request->outstanding;
      request->stream->WriteLayer(layer, [this, id = request->id](absl::Status status) {
        Post(TransferDoneCmd{id, false, std::move(status)});
      });
    }
    if (options_.testing_layer_delay > absl::ZeroDuration()) {
      absl::SleepFor(options_.testing_layer_delay);
    }
  };
  RefreshLoad();  // admissions are visible while the step runs
  const absl::Time started = absl::Now();
  const absl::Status status = engine_->Step(*pool_, steps, &logits_, on_layer_done);
  metrics_->step_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - started));
  metrics_->steps->Increment();
  metrics_->batch_tokens->Observe(batch_tokens);
  metrics_->batch_sequences->Observe(static_cast<double>(batch.size()));
  if (!status.ok()) {
    LOG(ERROR) << "prefill step failed: " << status;
    for (Request* request : batch) {
      request->stream->Cancel();
      std::erase(computing_, request->id);
      Reply(*request, status);
    }
    return true;
  }
  metrics_->prompt_tokens->Increment(batch_tokens);

  for (size_t i = 0; i < batch.size(); ++i) {
    Request& request = *batch[i];
    request.table.Advance(static_cast<int32_t>(steps[i].tokens.size()));
    if (options_.prefix_caching) {
      // Computed blocks are only read from now on (by the transport, and by prompts sharing them).
      CHECK_OK(request.table.PublishFullBlocks(*pool_, options_.prefix_hash_seed,
                                               request.job.prompt));
    }
    if (steps[i].logits == engine::LogitsMode::kNone) continue;
    request.compute_done = absl::Now();
    std::erase(computing_, request.id);
    request.state = Request::State::kTransferring;
    absl::StatusOr<std::unique_ptr<engine::Sampler>> sampler =
        engine::Sampler::Create(request.job.sampling.params);
    if (!sampler.ok()) {  // validated by the service; kept as a status, not a crash
      request.stream->Cancel();
      request.state = Request::State::kComputing;
      Reply(request, sampler.status());
      continue;
    }
    const engine::SampleResult sample = (*sampler)->Sample(logits_.Row(i), request.job.prompt);
    request.response.set_first_token_id(sample.token);
    ++request.outstanding;
    // The token's logprobs ride in the completion too: D streams them with the token.
    request.stream->Finish(serving::FirstTokenCompletion(request.job.sampling, sample),
                           [this, id = request.id](absl::Status status) {
                             Post(TransferDoneCmd{id, true, std::move(status)});
                           });
  }
  return true;
}

void PrefillScheduler::RefreshLoad() {
  PrefillLoad load;
  load.free_blocks = pool_->num_free();
  load.total_blocks = pool_->num_blocks();
  load.waiting = static_cast<int32_t>(queue_.size());
  load.running = static_cast<int32_t>(requests_.size() - queue_.size());
  for (uint64_t id : queue_) load.queued_prompt_tokens += requests_.at(id)->job.prompt.size();
  for (uint64_t id : computing_) {
    const Request& request = *requests_.at(id);
    load.queued_prompt_tokens += request.job.prompt.size() - request.table.num_tokens();
  }
  metrics_->queue_depth->Set(load.waiting);
  metrics_->queued_tokens->Set(static_cast<double>(load.queued_prompt_tokens));
  metrics_->kv_blocks_free->Set(load.free_blocks);
  metrics_->kv_blocks_used->Set(load.total_blocks - load.free_blocks);
  load.cached_blocks = pool_->num_cached();
  metrics_->prefix_cache->Update(*pool_);
  PublishLoad(load);
}

}  // namespace baton::prefill_worker
