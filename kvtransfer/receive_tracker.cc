#include "kvtransfer/receive_tracker.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "kvtransfer/checksum.h"

namespace baton::kvtransfer {

ReceiveTracker::ReceiveTracker(void* pool_base, int32_t pool_num_blocks,
                               const engine::KvLayout& layout)
    : pool_base_(pool_base),
      pool_num_blocks_(pool_num_blocks),
      layout_(layout),
      block_owner_(pool_num_blocks, 0) {
  thread_ = std::thread([this] { CallbackLoop(); });
}

ReceiveTracker::~ReceiveTracker() { Shutdown(); }

void ReceiveTracker::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    std::vector<TransferId> ids;
    for (const auto& [id, transfer] : transfers_) ids.push_back(id);
    for (TransferId id : ids) FailLocked(id, absl::AbortedError("KV receiver destroyed"));
    // Landings still in flight hold pointers into the pool: wait for them, and for every
    // on_complete to have run, before the pool may go away.
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return transfers_.empty() && landings_in_flight_ == 0 && callbacks_.empty() &&
             !running_callbacks_;
    };
    while (!idle()) cv_.Wait(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  thread_.join();
}

absl::Status ReceiveTracker::Expect(TransferId id, std::vector<int32_t> block_ids,
                                    ExpectOptions options, ReceiveCallback on_complete) {
  if (id == 0) return absl::InvalidArgumentError("transfer id 0");
  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::UnavailableError("KV receiver is shutting down");
  if (transfers_.contains(id)) {
    return absl::AlreadyExistsError(absl::StrCat("transfer ", id, " is already live"));
  }
  std::vector<bool> seen(pool_num_blocks_, false);
  for (int32_t block : block_ids) {
    if (block < 0 || block >= pool_num_blocks_) {
      return absl::InvalidArgumentError(
          absl::StrCat("block ", block, " outside a pool of ", pool_num_blocks_, " blocks"));
    }
    if (seen[block]) return absl::InvalidArgumentError(absl::StrCat("block ", block, " twice"));
    seen[block] = true;
    if (block_owner_[block] != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("block ", block, " still belongs to transfer ", block_owner_[block]));
    }
  }
  for (int32_t block : block_ids) block_owner_[block] = id;
  Transfer& transfer = transfers_[id];
  transfer.arrived.assign(static_cast<size_t>(layout_.num_layers) * block_ids.size(), 0);
  transfer.block_ids = std::move(block_ids);
  transfer.options = options;
  transfer.on_complete = std::move(on_complete);
  cv_.SignalAll();  // A new deadline for the callback thread.
  return absl::OkStatus();
}

void ReceiveTracker::Fail(TransferId id, absl::Status why) {
  absl::MutexLock lock(&mu_);
  FailLocked(id, std::move(why));
}

void ReceiveTracker::FailLocked(TransferId id, absl::Status why) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.failure.has_value()) return;
  it->second.failure = std::move(why);
  MaybeFinishLocked(id);
}

absl::StatusOr<ReceiveTracker::Landing> ReceiveTracker::BeginLanding(
    TransferId id, const SlabRun& run, size_t bytes, std::optional<uint64_t> checksum) {
  absl::MutexLock lock(&mu_);
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.failure.has_value()) {
    ++dropped_writes_;
    return absl::NotFoundError(absl::StrCat("no live transfer ", id));
  }
  Transfer& transfer = it->second;
  const int32_t n = static_cast<int32_t>(transfer.block_ids.size());
  if (run.layer < 0 || run.layer >= layout_.num_layers || run.count <= 0 || run.first_index < 0 ||
      run.first_index > n - run.count ||
      !IsConsecutive(transfer.block_ids, run.first_index, run.count) ||
      bytes != RunBytes(layout_, run)) {
    ++dropped_writes_;
    return absl::InvalidArgumentError(
        absl::StrCat("write for transfer ", id, " layer ", run.layer, " blocks [", run.first_index,
                     ", +", run.count, ") of ", bytes, " bytes does not fit the transfer"));
  }
  if (transfer.options.checksum && !checksum.has_value()) {
    ++dropped_writes_;
    FailLocked(id, absl::DataLossError(absl::StrCat("transfer ", id, " write without checksum")));
    return absl::DataLossError("write without checksum");
  }
  ++transfer.in_flight;
  ++landings_in_flight_;
  Landing landing;
  landing.transfer_id = id;
  landing.run = run;
  landing.destination = static_cast<char*>(pool_base_) +
                        RunOffset(layout_, pool_num_blocks_, transfer.block_ids, run);
  landing.bytes = bytes;
  if (transfer.options.checksum) landing.checksum = checksum;
  return landing;
}

void ReceiveTracker::EndLanding(const Landing& landing, absl::Status status) {
  // Verify outside the lock: it reads the whole run.
  if (status.ok() && landing.checksum.has_value() &&
      KvChecksum(landing.destination, landing.bytes) != *landing.checksum) {
    status = absl::DataLossError(absl::StrCat(
        "checksum mismatch in transfer ", landing.transfer_id, " layer ", landing.run.layer,
        " blocks [", landing.run.first_index, ", +", landing.run.count, ")"));
  }
  absl::MutexLock lock(&mu_);
  --landings_in_flight_;
  cv_.SignalAll();
  auto it = transfers_.find(landing.transfer_id);
  CHECK(it != transfers_.end()) << "landing for a transfer that was delivered";
  Transfer& transfer = it->second;
  --transfer.in_flight;
  if (status.ok()) {
    const size_t n = transfer.block_ids.size();
    for (int32_t i = 0; i < landing.run.count; ++i) {
      uint8_t& slot = transfer.arrived[landing.run.layer * n + landing.run.first_index + i];
      if (!slot) ++transfer.arrived_count;
      slot = 1;
    }
    transfer.bytes_received += landing.bytes;
  } else if (status.code() == absl::StatusCode::kDataLoss) {
    FailLocked(landing.transfer_id, status);
    return;
  } else {
    LOG(WARNING) << "transfer " << landing.transfer_id << ": a write failed to land: " << status;
  }
  MaybeFinishLocked(landing.transfer_id);
}

void ReceiveTracker::ExtendDeadline(TransferId id, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.failure.has_value()) return;
  it->second.options.deadline = deadline;
  cv_.SignalAll();  // A new deadline for the callback thread.
}

void ReceiveTracker::SenderFinished(TransferId id, Completion completion, uint64_t writer) {
  absl::MutexLock lock(&mu_);
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  it->second.completion = completion;
  if (writer != 0) it->second.put_writers.erase(writer);
  MaybeFinishLocked(id);
}

void ReceiveTracker::SetPutWriterPolicy(
    absl::Duration quarantine, absl::AnyInvocable<void(TransferId, uint64_t)> stop_writer) {
  absl::MutexLock lock(&mu_);
  put_quarantine_ = quarantine;
  stop_writer_ = std::move(stop_writer);
}

absl::Status ReceiveTracker::AddPutWriter(TransferId id, uint64_t writer) {
  absl::MutexLock lock(&mu_);
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.failure.has_value() ||
      it->second.completion.has_value() || it->second.release_at != absl::InfiniteFuture()) {
    ++dropped_writes_;
    return absl::NotFoundError(absl::StrCat("no live transfer ", id, " to write into"));
  }
  it->second.put_writers.insert(writer);
  return absl::OkStatus();
}

void ReceiveTracker::PutWriterStopped(TransferId id, uint64_t writer) {
  absl::MutexLock lock(&mu_);
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.put_writers.erase(writer) == 0) return;
  MaybeFinishLocked(id);
}

KvTarget ReceiveTracker::TargetFor(TransferId id, const std::vector<int32_t>& block_ids,
                                   const ExpectOptions& options) const {
  KvTarget target;
  target.base_address = reinterpret_cast<uint64_t>(pool_base_);
  target.pool_num_blocks = pool_num_blocks_;
  target.block_ids = block_ids;
  target.layout = layout_;
  target.transfer_id = id;
  target.checksum = options.checksum;
  target.lease_deadline = options.deadline;
  return target;
}

bool ReceiveTracker::IsLive(TransferId id) const {
  absl::MutexLock lock(&mu_);
  return transfers_.contains(id);
}

void ReceiveTracker::MaybeFinishLocked(TransferId id) {
  auto it = transfers_.find(id);
  Transfer& transfer = it->second;
  if (transfer.in_flight > 0) return;
  absl::StatusOr<ReceiveResult> outcome;
  if (transfer.failure.has_value()) {
    outcome = *transfer.failure;
  } else if (transfer.completion.has_value() &&
             transfer.arrived_count == static_cast<int64_t>(transfer.arrived.size())) {
    outcome = ReceiveResult{id, *transfer.completion, transfer.bytes_received};
  } else {
    return;
  }
  if (!transfer.put_writers.empty()) {
    // Decided, but a writer the tracker cannot refuse may still be writing into the blocks: hold
    // the outcome until it stopped, or until the quarantine passed.
    const absl::Time now = absl::Now();
    if (transfer.release_at == absl::InfiniteFuture()) {
      transfer.release_at = now + put_quarantine_;
      cv_.SignalAll();  // A new timer for the callback thread.
    }
    if (now < transfer.release_at) {
      for (uint64_t writer : transfer.put_writers) {
        if (transfer.stop_requested.insert(writer).second && stop_writer_) stop_writer_(id, writer);
      }
      return;
    }
    LOG(WARNING) << "transfer " << id << ": " << transfer.put_writers.size()
                 << " put writer(s) did not report stopping within the quarantine; releasing";
    transfer.put_writers.clear();
  }
  for (int32_t block : transfer.block_ids) block_owner_[block] = 0;
  callbacks_.push_back(
      [cb = std::move(transfer.on_complete), outcome = std::move(outcome)]() mutable {
        std::move(cb)(std::move(outcome));
      });
  transfers_.erase(it);
  cv_.SignalAll();
}

void ReceiveTracker::CallbackLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = absl::Now();
    absl::Time next = absl::InfiniteFuture();
    std::vector<TransferId> expired;
    std::vector<TransferId> quarantined;
    for (const auto& [id, transfer] : transfers_) {
      if (transfer.release_at != absl::InfiniteFuture()) {
        // Decided and held for its put writers.
        if (transfer.release_at <= now) {
          quarantined.push_back(id);
        } else if (transfer.release_at < next) {
          next = transfer.release_at;
        }
        continue;
      }
      if (transfer.failure.has_value()) continue;
      if (transfer.options.deadline <= now) {
        expired.push_back(id);
      } else if (transfer.options.deadline < next) {
        next = transfer.options.deadline;
      }
    }
    for (TransferId id : expired) {
      FailLocked(id, absl::DeadlineExceededError(
                         absl::StrCat("transfer ", id, " not complete by its deadline")));
    }
    for (TransferId id : quarantined) MaybeFinishLocked(id);
    if (!callbacks_.empty()) {
      std::deque<absl::AnyInvocable<void() &&>> batch;
      batch.swap(callbacks_);
      running_callbacks_ = true;
      mu_.Unlock();
      for (auto& cb : batch) std::move(cb)();
      batch.clear();
      mu_.Lock();
      running_callbacks_ = false;
      cv_.SignalAll();
      continue;
    }
    if (stopping_) return;
    if (!expired.empty() || !quarantined.empty()) continue;
    cv_.WaitWithDeadline(&mu_, next);
  }
}

int64_t ReceiveTracker::live_transfers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(transfers_.size());
}

int64_t ReceiveTracker::landings_in_flight() const {
  absl::MutexLock lock(&mu_);
  return landings_in_flight_;
}

int64_t ReceiveTracker::dropped_writes() const {
  absl::MutexLock lock(&mu_);
  return dropped_writes_;
}

}  // namespace baton::kvtransfer
