#include "decode_worker/decode_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "engine/kv_cache/prefix_hash.h"
#include "serving/first_token.h"
#include "serving/kv_target_proto.h"

namespace baton::decode_worker {

namespace v1 = ::baton::internal::v1;

namespace {

// The receiver's deadline for a transfer whose lease ends at `lease_deadline`: a backstop on the
// wall clock, well past the lease, so that no transport waits forever should the scheduler stop
// checking (a wall-clock step shorter than lease + 10 s cannot end a lease early). Moved along
// with every renewal.
absl::Time TransportBackstop(absl::Time lease_deadline, absl::Duration lease) {
  return lease_deadline + lease + absl::Seconds(10);
}

}  // namespace

struct DecodeScheduler::Sequence {
  enum class State { kAwaitingKv, kReady, kWaiting, kRunning };

  uint64_t id = 0;
  DecodeJob job;
  // Prompt then generated tokens. Positions [0, table.num_tokens()) have KV in the pool.
  std::vector<int32_t> tokens;
  int32_t prompt_len = 0;
  int32_t generated = 0;
  // Prompt tokens whose KV came from the prefix cache.
  int32_t cached_prompt_tokens = 0;
  engine::BlockTable table;
  std::unique_ptr<engine::Sampler> sampler;
  State state = State::kWaiting;
  // Abort sent; the blocks are freed once the receiver's on_complete ran.
  bool cancelled = false;
  // Abort sent because the lease passed (the request then fails with kUnavailable).
  bool lease_expired = false;
  // On the scheduler's clock: when the blocks were reserved and when the lease ends (moved by
  // each renewal).
  absl::Duration reserved_at;
  absl::Duration lease;
  absl::Duration lease_ends = absl::InfiniteDuration();
  absl::Time prefill_started = absl::InfinitePast();
  absl::Duration prefill_time;
  absl::Time decode_started;
};

absl::StatusOr<std::unique_ptr<DecodeScheduler>> DecodeScheduler::Create(
    engine::Engine* engine, engine::KvPool* pool, kvtransfer::KvReceiver* receiver,
    DecodeMetrics* metrics, const DecodeSchedulerOptions& options) {
  if (engine == nullptr || pool == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("engine, pool and metrics are required");
  }
  if (options.max_batch_size < 1 || options.prefill_chunk_tokens < 1 ||
      options.default_lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "max_batch_size, prefill_chunk_tokens and default_lease must be positive");
  }
  auto scheduler = std::unique_ptr<DecodeScheduler>(
      new DecodeScheduler(engine, pool, receiver, metrics, options));
  scheduler->StartLoop();
  return scheduler;
}

DecodeScheduler::DecodeScheduler(engine::Engine* engine, engine::KvPool* pool,
                                 kvtransfer::KvReceiver* receiver, DecodeMetrics* metrics,
                                 const DecodeSchedulerOptions& options)
    : engine_(engine),
      pool_(pool),
      receiver_(receiver),
      metrics_(metrics),
      options_(options),
      context_length_(engine->config().context_length),
      clock_(options.clock != nullptr ? options.clock : serving::SteadyClock::Get()),
      // Ids double as transfer ids: start from the clock so a restarted worker does not reuse
      // ids a slow sender may still hold.
      next_id_((static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())) << 10) | 1) {}

DecodeScheduler::~DecodeScheduler() { Shutdown(absl::ZeroDuration()); }

uint64_t DecodeScheduler::Submit(DecodeJob job) {
  const uint64_t id = next_id_.fetch_add(1);
  decode_internal::Command command = SubmitCmd{id, std::move(job)};
  if (!PostIfAccepting(command)) {
    std::get<SubmitCmd>(command).job.events->Push(
        {absl::UnavailableError("decode worker is shutting down"), {}, true});
  }
  return id;
}

void DecodeScheduler::Cancel(uint64_t id) { Post(CancelCmd{id}); }

void DecodeScheduler::RenewLease(uint64_t id, LeaseRenewalCallback done) {
  // Posted even while draining: transfers still pending then keep their leases.
  Post(RenewLeaseCmd{id, std::move(done)});
}

void DecodeScheduler::Handle(decode_internal::Command& command) {
  if (auto* submit = std::get_if<SubmitCmd>(&command)) return OnSubmit(*submit);
  if (auto* cancel = std::get_if<CancelCmd>(&command)) return OnCancel(*cancel);
  if (auto* renew = std::get_if<RenewLeaseCmd>(&command)) return OnRenewLease(*renew);
  OnKvArrived(std::get<KvArrivedCmd>(command));
}

void DecodeScheduler::CancelAll() {
  std::vector<uint64_t> ids;
  for (const auto& [id, seq] : sequences_) ids.push_back(id);
  for (uint64_t id : ids) OnCancel(CancelCmd{id});
}

bool DecodeScheduler::HasWork() const {
  return !running_.empty() || !ready_.empty() || !waiting_.empty();
}

void DecodeScheduler::OnSubmit(SubmitCmd& cmd) {
  auto seq = std::make_unique<Sequence>();
  seq->id = cmd.id;
  seq->job = std::move(cmd.job);
  seq->tokens = seq->job.prompt;
  seq->prompt_len = static_cast<int32_t>(seq->tokens.size());
  auto reject = [&](absl::Status status) { seq->job.events->Push({std::move(status), {}, true}); };
  absl::StatusOr<std::unique_ptr<engine::Sampler>> sampler =
      engine::Sampler::Create(seq->job.sampling.params);
  if (!sampler.ok()) return reject(sampler.status());
  seq->sampler = *std::move(sampler);

  const engine::KvLayout& layout = pool_->layout();
  const int32_t need = layout.BlocksFor(seq->prompt_len);
  if (need > pool_->num_blocks()) {
    metrics_->rejected_no_blocks->Increment();
    return reject(absl::ResourceExhaustedError(
        absl::StrCat("prompt of ", seq->prompt_len, " tokens needs ", need,
                     " KV blocks; the pool has only ", pool_->num_blocks())));
  }
  // A remote prefill may skip every cached full block (when none is left to write, only the
  // transfer's completion travels); a local one must still compute the last prompt token for its
  // logits, so it reuses only the full blocks before it.
  const int32_t block_size = layout.block_size_tokens;
  const int32_t remote_cap = seq->prompt_len / block_size;
  const int32_t local_cap = (seq->prompt_len - 1) / block_size;
  bool local = seq->job.local_prefill;
  if (!local && seq->job.local_prefill_max_tokens > 0) {
    const int32_t hit =
        options_.prefix_caching
            ? pool_->CountCached(kv_cache::PrefixBlockHashes(options_.prefix_hash_seed,
                                                             seq->tokens, block_size))
            : 0;
    local = seq->prompt_len - std::min(hit, local_cap) * block_size <=
            seq->job.local_prefill_max_tokens;
  }
  if (!local && receiver_ == nullptr) {
    return reject(absl::FailedPreconditionError(
        "this decode worker has no KV transport; send local_prefill requests"));
  }
  const int32_t adopted =
      options_.prefix_caching
          ? seq->table.AdoptCachedPrefix(*pool_, options_.prefix_hash_seed, seq->tokens,
                                         local ? local_cap : remote_cap)
          : 0;
  if (absl::Status reserved = seq->table.Reserve(*pool_, seq->prompt_len); !reserved.ok()) {
    CHECK_OK(seq->table.Release(*pool_));
    metrics_->rejected_no_blocks->Increment();
    return reject(absl::ResourceExhaustedError(absl::StrCat(
        "no free KV blocks: need ", need - adopted, ", free ", pool_->num_free(),
        "; try another worker")));
  }
  seq->cached_prompt_tokens = seq->table.num_tokens();
  metrics_->prefix_cache->AddHitTokens(seq->cached_prompt_tokens);
  seq->reserved_at = clock_->Now();
  metrics_->requests->Increment();

  if (local) {
    DecodeEvent event;
    event.response.mutable_local_prefill()->set_cached_prompt_tokens(seq->cached_prompt_tokens);
    seq->job.events->Push(std::move(event));
    seq->state = Sequence::State::kWaiting;
    waiting_.push_back(seq->id);
    sequences_.emplace(seq->id, std::move(seq));
    return;
  }

  const absl::Duration lease =
      seq->job.lease > absl::ZeroDuration() ? seq->job.lease : options_.default_lease;
  // The scheduler enforces the lease on its monotonic clock (ExpireLeases); the wall-clock
  // deadline travels in the KvTarget (the router reads it to pace its renewals).
  seq->lease = lease;
  seq->lease_ends = seq->reserved_at + lease;
  const absl::Time deadline = absl::Now() + lease;
  const uint64_t id = seq->id;
  // Only the blocks after the cached prefix are written; the target lists them all.
  const std::vector<int32_t> blocks(seq->table.blocks().begin(), seq->table.blocks().end());
  absl::StatusOr<kvtransfer::KvTarget> target = receiver_->ExpectTransfer(
      id, std::vector<int32_t>(blocks.begin() + adopted, blocks.end()),
      {.deadline = TransportBackstop(deadline, lease), .checksum = options_.kv_checksum},
      [this, id](absl::StatusOr<kvtransfer::ReceiveResult> result) {
        Post(KvArrivedCmd{id, std::move(result)});
      });
  if (!target.ok()) {
    CHECK_OK(seq->table.Release(*pool_));
    return reject(target.status());
  }
  target->block_ids = blocks;
  target->lease_deadline = deadline;
  seq->state = Sequence::State::kAwaitingKv;
  ++pending_transfers_;
  DecodeEvent event;
  *event.response.mutable_kv_target() = serving::WireKvTargetToProto(serving::WireKvTarget{
      *std::move(target), deadline, seq->prompt_len, /*cached_prefix_blocks=*/adopted});
  seq->job.events->Push(std::move(event));
  sequences_.emplace(id, std::move(seq));
}

void DecodeScheduler::OnCancel(const CancelCmd& cmd) {
  auto it = sequences_.find(cmd.id);
  if (it == sequences_.end()) return;
  Sequence& seq = *it->second;
  if (seq.state == Sequence::State::kAwaitingKv) {
    if (seq.cancelled) return;
    // The blocks stay reserved until on_complete confirms no write can still land.
    seq.cancelled = true;
    receiver_->Abort(seq.id);
    metrics_->cancelled->Increment();
    DecodeEvent event;
    event.response.mutable_finished()->set_finish_reason(baton::v1::FINISH_REASON_CANCELLED);
    event.response.mutable_finished()->set_prompt_tokens(seq.prompt_len);
    event.last = true;
    seq.job.events->Push(std::move(event));
    return;
  }
  metrics_->cancelled->Increment();
  Finish(seq, baton::v1::FINISH_REASON_CANCELLED);
}

void DecodeScheduler::OnKvArrived(KvArrivedCmd& cmd) {
  auto it = sequences_.find(cmd.id);
  if (it == sequences_.end() || it->second->state != Sequence::State::kAwaitingKv) return;
  Sequence& seq = *it->second;
  --pending_transfers_;
  if (seq.cancelled) return Remove(seq.id);
  if (!cmd.result.ok()) {
    metrics_->transfer_failures->Increment();
    const absl::Status& status = cmd.result.status();
    if (seq.lease_expired) {
      return Fail(seq, absl::UnavailableError(absl::StrCat(
                           "KV of request ", seq.job.request_id,
                           " did not arrive before the lease ended: ", status.message())));
    }
    switch (status.code()) {
      case absl::StatusCode::kDeadlineExceeded:
        return Fail(seq, absl::UnavailableError(absl::StrCat(
                             "KV of request ", seq.job.request_id,
                             " did not arrive before the lease deadline: ", status.message())));
      case absl::StatusCode::kAborted:
        return Fail(seq, absl::UnavailableError(
                             absl::StrCat("KV transfer of request ", seq.job.request_id,
                                          " was aborted by the prefill side: ", status.message())));
      default:
        return Fail(seq, status);
    }
  }
  metrics_->transfer_bytes->Increment(static_cast<double>(cmd.result->bytes_received));
  metrics_->transfer_seconds->Observe(absl::ToDoubleSeconds(clock_->Now() - seq.reserved_at));
  absl::StatusOr<serving::FirstToken> first = serving::FirstTokenFromCompletion(
      cmd.result->completion, seq.job.sampling, engine_->config().vocab_size);
  if (!first.ok()) {
    metrics_->transfer_failures->Increment();
    return Fail(seq, first.status());
  }
  seq.table.SetNumTokens(seq.prompt_len);
  PublishBlocks(seq);
  seq.decode_started = absl::Now();
  // The prefill worker sampled this token (its draw is keyed by the seed and the token's
  // position, so ours for the next positions need no catching up) and sent its logprobs with it.
  if (AcceptToken(seq, first->token, std::move(first->logprobs))) return;
  seq.state = Sequence::State::kReady;
  ready_.push_back(seq.id);
}

void DecodeScheduler::OnRenewLease(RenewLeaseCmd& cmd) {
  auto it = sequences_.find(cmd.id);
  if (it == sequences_.end() || it->second->state != Sequence::State::kAwaitingKv ||
      it->second->cancelled || it->second->lease_expired) {
    std::move(cmd.done)(absl::NotFoundError(
        absl::StrCat("no reservation is waiting for the KV of transfer ", cmd.id)));
    return;
  }
  Sequence& seq = *it->second;
  metrics_->lease_renewals->Increment();
  seq.lease_ends = clock_->Now() + seq.lease;
  const absl::Time deadline = absl::Now() + seq.lease;
  receiver_->ExtendDeadline(seq.id, TransportBackstop(deadline, seq.lease));
  std::move(cmd.done)(LeaseRenewal{seq.lease, deadline});
}

bool DecodeScheduler::AcceptToken(Sequence& seq, int32_t token,
                                  std::optional<baton::v1::PositionLogprobs> logprobs) {
  seq.tokens.push_back(token);
  ++seq.generated;
  metrics_->generated_tokens->Increment();
  DecodeEvent event;
  v1::DecodedTokens* out = event.response.mutable_tokens();
  out->add_token_ids(token);
  if (logprobs.has_value()) *out->add_logprobs() = *std::move(logprobs);
  seq.job.events->Push(std::move(event));
  if (!seq.job.sampling.ignore_eos &&
      absl::c_linear_search(options_.end_of_generation_ids, token)) {
    Finish(seq, baton::v1::FINISH_REASON_STOP);
    return true;
  }
  if (seq.generated >= seq.job.sampling.max_tokens ||
      static_cast<int64_t>(seq.tokens.size()) >= context_length_) {
    Finish(seq, baton::v1::FINISH_REASON_LENGTH);
    return true;
  }
  return false;
}

void DecodeScheduler::Finish(Sequence& seq, baton::v1::FinishReason reason) {
  DecodeEvent event;
  v1::DecodeFinished* finished = event.response.mutable_finished();
  finished->set_finish_reason(reason);
  finished->set_prompt_tokens(seq.prompt_len);
  finished->set_completion_tokens(seq.generated);
  if (seq.decode_started != absl::Time()) {
    finished->set_decode_seconds(absl::ToDoubleSeconds(absl::Now() - seq.decode_started));
  }
  finished->set_prefill_seconds(absl::ToDoubleSeconds(seq.prefill_time));
  finished->set_cached_prompt_tokens(seq.cached_prompt_tokens);
  event.last = true;
  seq.job.events->Push(std::move(event));
  Remove(seq.id);
}

void DecodeScheduler::Fail(Sequence& seq, absl::Status status) {
  metrics_->failed->Increment();
  LOG(WARNING) << "decode request " << seq.job.request_id << " failed: " << status;
  seq.job.events->Push({std::move(status), {}, true});
  Remove(seq.id);
}

void DecodeScheduler::Remove(uint64_t id) {
  auto it = sequences_.find(id);
  if (it == sequences_.end()) return;
  CHECK_OK(it->second->table.Release(*pool_));
  std::erase(running_, id);
  std::erase(ready_, id);
  std::erase(waiting_, id);
  sequences_.erase(it);
}

void DecodeScheduler::PublishBlocks(Sequence& seq) {
  if (!options_.prefix_caching) return;
  CHECK_OK(seq.table.PublishFullBlocks(*pool_, options_.prefix_hash_seed, seq.tokens));
}

void DecodeScheduler::Preempt(Sequence& seq) {
  metrics_->preemptions->Increment();
  CHECK_OK(seq.table.Release(*pool_));
  seq.table = engine::BlockTable();
  seq.state = Sequence::State::kWaiting;
  std::erase(running_, seq.id);
  waiting_.push_front(seq.id);
}

bool DecodeScheduler::GrowOrPreempt(Sequence& seq, int64_t num_tokens) {
  while (!seq.table.Reserve(*pool_, num_tokens).ok()) {
    // Victim: the youngest running sequence admitted after `seq` (those are not in the batch
    // being built yet, so their blocks are not referenced by it).
    auto self = std::find(running_.begin(), running_.end(), seq.id);
    if (self == running_.end() || self + 1 == running_.end()) return false;
    Preempt(*sequences_.at(running_.back()));
  }
  return true;
}

void DecodeScheduler::ExpireLeases() {
  if (pending_transfers_ == 0) return;
  const absl::Duration now = clock_->Now();
  for (auto& [id, seq] : sequences_) {
    if (seq->state != Sequence::State::kAwaitingKv || seq->cancelled || seq->lease_expired ||
        now < seq->lease_ends) {
      continue;
    }
    // The blocks stay reserved until on_complete confirms no write can still land.
    seq->lease_expired = true;
    receiver_->Abort(id);
  }
}

absl::Duration DecodeScheduler::IdleWait() const {
  return pending_transfers_ > 0 ? absl::Milliseconds(10) : absl::InfiniteDuration();
}

bool DecodeScheduler::RunStep() {
  ExpireLeases();
  if (!HasWork()) return false;
  const size_t max_batch = static_cast<size_t>(options_.max_batch_size);
  while (!ready_.empty() && running_.size() < max_batch) {
    sequences_.at(ready_.front())->state = Sequence::State::kRunning;
    running_.push_back(ready_.front());
    ready_.pop_front();
  }

  std::vector<Sequence*> batch;
  std::vector<engine::SequenceStep> steps;
  std::vector<int32_t> fed;
  // Decode: one token for each running sequence, oldest first.
  const std::vector<uint64_t> running = running_;
  for (uint64_t id : running) {
    auto it = sequences_.find(id);
    if (it == sequences_.end() || it->second->state != Sequence::State::kRunning) continue;
    Sequence& seq = *it->second;
    const int64_t positions = static_cast<int64_t>(seq.tokens.size());
    if (!GrowOrPreempt(seq, positions)) {
      if (pool_->num_allocated() == static_cast<int32_t>(seq.table.blocks().size())) {
        Fail(seq, absl::ResourceExhaustedError(absl::StrCat("the KV pool (", pool_->num_blocks(),
                                                            " blocks) cannot hold a sequence of ",
                                                            positions, " tokens")));
      } else {
        Preempt(seq);
      }
      continue;
    }
    batch.push_back(&seq);
    fed.push_back(1);
  }
  // Local prefill (colocated requests and recompute), first come first served, in chunks.
  int32_t budget = options_.prefill_chunk_tokens;
  size_t prefilling = 0;
  for (uint64_t id : std::vector<uint64_t>(waiting_.begin(), waiting_.end())) {
    if (budget <= 0 || batch.size() >= max_batch || running_.size() + prefilling >= max_batch) {
      break;
    }
    Sequence& seq = *sequences_.at(id);
    const int64_t positions = static_cast<int64_t>(seq.tokens.size());
    if (options_.prefix_caching && seq.table.blocks().empty()) {
      // A preempted sequence recomputes only what the cache no longer holds (up to the last
      // token, whose logits it needs).
      seq.table.AdoptCachedPrefix(*pool_, options_.prefix_hash_seed, seq.tokens,
                                  static_cast<int32_t>((positions - 1) / pool_->layout().block_size_tokens));
    }
    if (!seq.table.Reserve(*pool_, positions).ok()) {
      if (pool_->num_allocated() == static_cast<int32_t>(seq.table.blocks().size())) {
        Fail(seq, absl::ResourceExhaustedError(absl::StrCat("the KV pool (", pool_->num_blocks(),
                                                            " blocks) cannot hold a sequence of ",
                                                            positions, " tokens")));
        continue;
      }
      break;  // wait for blocks, keeping arrival order
    }
    const int32_t pending = static_cast<int32_t>(positions) - seq.table.num_tokens();
    const int32_t chunk = std::min(pending, budget);
    if (seq.prefill_started == absl::InfinitePast()) seq.prefill_started = absl::Now();
    budget -= chunk;
    ++prefilling;
    batch.push_back(&seq);
    fed.push_back(chunk);
  }
  if (batch.empty()) return false;

  for (size_t i = 0; i < batch.size(); ++i) {
    Sequence& seq = *batch[i];
    const int32_t start = seq.table.num_tokens();
    const bool completes = start + fed[i] == static_cast<int32_t>(seq.tokens.size());
    steps.push_back(engine::SequenceStep{
        .block_table = seq.table.blocks(),
        .tokens = std::span<const int32_t>(seq.tokens).subspan(start, fed[i]),
        .start_pos = start,
        .logits = completes ? engine::LogitsMode::kLast : engine::LogitsMode::kNone});
  }
  RefreshLoad();  // admissions are visible while the step runs
  const absl::Time started = absl::Now();
  const absl::Status status = engine_->Step(*pool_, steps, &logits_);
  metrics_->step_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - started));
  metrics_->steps->Increment();
  metrics_->batch_size->Observe(static_cast<double>(batch.size()));
  if (static_cast<double>(batch.size()) > max_batch_seen_) {
    max_batch_seen_ = static_cast<double>(batch.size());
    metrics_->max_batch_size->Set(max_batch_seen_);
  }
  if (!status.ok()) {
    LOG(ERROR) << "engine step failed: " << status;
    for (Sequence* seq : batch) Fail(*seq, status);
    return true;
  }

  for (size_t i = 0; i < batch.size(); ++i) {
    Sequence& seq = *batch[i];
    seq.table.Advance(fed[i]);
    PublishBlocks(seq);
    const bool was_running = seq.state == Sequence::State::kRunning;
    if (!was_running) metrics_->prefill_tokens->Increment(fed[i]);
    if (steps[i].logits == engine::LogitsMode::kNone) continue;
    const engine::SampleResult sample = seq.sampler->Sample(logits_.Row(i), seq.tokens);
    if (!was_running) {
      // Prefill done: the sequence joins the running batch.
      if (seq.generated == 0) {
        seq.prefill_time = absl::Now() - seq.prefill_started;
        seq.decode_started = absl::Now();
      }
      std::erase(waiting_, seq.id);
      seq.state = Sequence::State::kRunning;
      running_.push_back(seq.id);
    }
    AcceptToken(seq, sample.token, serving::LogprobsIfRequested(seq.job.sampling, sample));
  }
  return true;
}

void DecodeScheduler::RefreshLoad() {
  DecodeLoad load;
  load.free_blocks = pool_->num_free();
  load.total_blocks = pool_->num_blocks();
  load.running = static_cast<int32_t>(running_.size());
  load.pending_transfers = pending_transfers_;
  load.waiting = static_cast<int32_t>(ready_.size() + waiting_.size()) + pending_transfers_;
  for (uint64_t id : waiting_) {
    const Sequence& seq = *sequences_.at(id);
    load.queued_prompt_tokens += static_cast<int64_t>(seq.tokens.size()) - seq.table.num_tokens();
  }
  metrics_->running->Set(load.running);
  metrics_->waiting->Set(load.waiting);
  metrics_->pending_transfers->Set(load.pending_transfers);
  metrics_->kv_blocks_free->Set(load.free_blocks);
  metrics_->kv_blocks_used->Set(load.total_blocks - load.free_blocks);
  load.cached_blocks = pool_->num_cached();
  metrics_->prefix_cache->Update(*pool_);
  PublishLoad(load);
}

}  // namespace baton::decode_worker
