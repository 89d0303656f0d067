#include "router/worker_pool.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "engine/kv_cache/prefix_hash.h"
#include "common/grpc_health.h"

namespace baton::router {

namespace v1 = ::baton::internal::v1;

struct WorkerPool::Worker {
  WorkerRole role;
  std::string address;
  bool from_dns = false;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::WorkerService::Stub> stub;
  std::thread thread;

  // Guarded by the pool's mu_.
  bool stop = false;
  // The watcher should connect now / is connecting or streaming.
  bool attempt_due = true;
  bool attempting = false;
  // A report arrived on the current stream and the last health check said SERVING.
  bool connected = false;
  bool serving = false;
  int failures = 0;
  absl::Duration next_attempt;
  absl::Duration next_health;
  grpc::ClientContext* context = nullptr;
  v1::WorkerLoad load;
  absl::flat_hash_set<uint64_t> cached_hashes;
  int32_t in_flight = 0;
  int64_t in_flight_prompt_tokens = 0;

  bool InPool() const {
    const bool right_role =
        load.role() == v1::WORKER_ROLE_UNSPECIFIED || load.role() == role;
    return connected && serving && !load.draining() && right_role;
  }
};

grpc::ChannelArguments WorkerChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

absl::StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Create(const WorkerPoolOptions& options,
                                                               ChannelFactory channels,
                                                               Resolver resolver,
                                                               const serving::MonotonicClock* clock) {
  auto pool = std::unique_ptr<WorkerPool>(
      new WorkerPool(options, std::move(channels), std::move(resolver), clock));
  for (auto [role, list] : {std::pair{v1::WORKER_ROLE_PREFILL, &options.prefill},
                            std::pair{v1::WORKER_ROLE_DECODE, &options.decode}}) {
    absl::StatusOr<std::vector<WorkerAddressEntry>> entries = ParseWorkerAddresses(*list);
    if (!entries.ok()) return entries.status();
    for (WorkerAddressEntry& entry : *entries) pool->entries_.emplace_back(role, std::move(entry));
  }
  {
    absl::MutexLock lock(&pool->mu_);
    for (const auto& [role, entry] : pool->entries_) {
      if (!entry.dns) pool->AddWorker(role, entry.host_port, /*from_dns=*/false);
    }
    pool->next_resolve_ = clock->Now();
  }
  pool->Resolve(clock->Now());
  return pool;
}

WorkerPool::WorkerPool(const WorkerPoolOptions& options, ChannelFactory channels,
                       Resolver resolver, const serving::MonotonicClock* clock)
    : options_(options), channels_(std::move(channels)), resolver_(std::move(resolver)),
      clock_(clock) {}

WorkerPool::~WorkerPool() {
  stop_maintenance_.Notify();
  if (maintenance_.joinable()) maintenance_.join();
  std::map<std::string, std::shared_ptr<Worker>> workers;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    workers.swap(workers_);
  }
  for (auto& [address, worker] : workers) StopWorker(worker);
}

void WorkerPool::AddWorker(WorkerRole role, const std::string& address, bool from_dns) {
  if (workers_.contains(address)) return;
  auto worker = std::make_shared<Worker>();
  worker->role = role;
  worker->address = address;
  worker->from_dns = from_dns;
  worker->channel = channels_(address);
  worker->stub = v1::WorkerService::NewStub(worker->channel);
  worker->next_attempt = clock_->Now();
  Worker* raw = worker.get();
  workers_.emplace(address, worker);
  ++version_;
  worker->thread = std::thread([this, raw] { Watch(raw); });
}

void WorkerPool::StopWorker(std::shared_ptr<Worker> worker) {
  {
    absl::MutexLock lock(&mu_);
    worker->stop = true;
    if (worker->context != nullptr) worker->context->TryCancel();
  }
  if (worker->thread.joinable()) worker->thread.join();
}

void WorkerPool::Watch(Worker* worker) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Worker* w) { return w->stop || w->attempt_due; }, worker));
      if (worker->stop) return;
      worker->attempt_due = false;
      worker->attempting = true;
    }
    Connect(worker);
    absl::MutexLock lock(&mu_);
    worker->attempting = false;
    LeavePool(worker, /*failed=*/true);
  }
}

void WorkerPool::Connect(Worker* worker) {
  absl::StatusOr<bool> serving = common::CheckGrpcHealth(
      worker->channel, options_.health_timeout, /*wait_for_ready=*/true);
  if (!serving.ok() || !*serving) return;
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (worker->stop) return;
    worker->context = &context;
    worker->serving = true;
  }
  v1::WatchLoadRequest request;
  request.set_interval_millis(options_.watch_interval_millis);
  std::unique_ptr<grpc::ClientReader<v1::WorkerLoad>> reader =
      worker->stub->WatchLoad(&context, request);
  v1::WorkerLoad load;
  while (reader->Read(&load)) {
    absl::MutexLock lock(&mu_);
    const v1::PrefixCacheEvents& events = load.prefix_cache();
    if (events.snapshot()) worker->cached_hashes.clear();
    for (uint64_t hash : events.stored()) worker->cached_hashes.insert(hash);
    for (uint64_t hash : events.removed()) worker->cached_hashes.erase(hash);
    load.clear_prefix_cache();
    const bool was_in = worker->InPool();
    worker->load = std::move(load);
    worker->connected = true;
    worker->failures = 0;
    if (!was_in && worker->InPool()) {
      worker->next_health = clock_->Now() + options_.health_interval;
      LOG(INFO) << "worker pool: " << worker->address << " joined";
    } else if (was_in && !worker->InPool()) {
      LOG(INFO) << "worker pool: " << worker->address << " left (draining)";
    }
    ++version_;
  }
  {
    absl::MutexLock lock(&mu_);
    worker->context = nullptr;
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    LOG(INFO) << "worker pool: " << worker->address
              << " load stream ended: " << status.error_message();
  }
}

void WorkerPool::LeavePool(Worker* worker, bool failed) {
  if (worker->InPool()) LOG(INFO) << "worker pool: " << worker->address << " left";
  worker->connected = false;
  worker->serving = false;
  worker->load.set_draining(false);
  worker->cached_hashes.clear();
  if (failed) {
    absl::Duration backoff = options_.initial_backoff;
    for (int i = 0; i < worker->failures && backoff < options_.max_backoff; ++i) backoff *= 2;
    worker->next_attempt = clock_->Now() + std::min(backoff, options_.max_backoff);
    ++worker->failures;
  }
  ++version_;
}

void WorkerPool::Resolve(absl::Duration now) {
  {
    absl::MutexLock lock(&mu_);
    if (now < next_resolve_) return;
    next_resolve_ = now + options_.resolve_interval;
  }
  // Addresses each role's DNS entries name now; a name that fails keeps its workers.
  std::map<std::string, WorkerRole> wanted;
  absl::flat_hash_set<std::string> failed_names;
  bool any_dns = false;
  for (const auto& [role, entry] : entries_) {
    if (!entry.dns) continue;
    any_dns = true;
    absl::StatusOr<std::vector<std::string>> addresses = resolver_(entry.name, entry.port);
    if (!addresses.ok()) {
      LOG(WARNING) << "worker pool: " << addresses.status();
      failed_names.insert(entry.host_port);
      continue;
    }
    for (const std::string& address : *addresses) wanted.emplace(address, role);
  }
  if (!any_dns) return;
  std::vector<std::shared_ptr<Worker>> removed;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    for (const auto& [address, role] : wanted) AddWorker(role, address, /*from_dns=*/true);
    if (failed_names.empty()) {
      for (auto it = workers_.begin(); it != workers_.end();) {
        if (it->second->from_dns && !wanted.contains(it->first)) {
          LOG(INFO) << "worker pool: " << it->first << " no longer resolves; removed";
          removed.push_back(it->second);
          it = workers_.erase(it);
          ++version_;
        } else {
          ++it;
        }
      }
    }
  }
  for (auto& worker : removed) StopWorker(worker);
}

void WorkerPool::Maintain() {
  absl::MutexLock maintain_lock(&maintain_mu_);
  const absl::Duration now = clock_->Now();
  Resolve(now);
  std::vector<std::shared_ptr<Worker>> to_check;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [address, worker] : workers_) {
      if (!worker->attempting && !worker->attempt_due && now >= worker->next_attempt) {
        worker->attempt_due = true;
      }
      if (worker->InPool() && now >= worker->next_health) {
        worker->next_health = now + options_.health_interval;
        to_check.push_back(worker);
      }
    }
  }
  for (const std::shared_ptr<Worker>& worker : to_check) {
    absl::StatusOr<bool> serving = common::CheckGrpcHealth(
      worker->channel, options_.health_timeout, /*wait_for_ready=*/true);
    if (serving.ok() && *serving) continue;
    absl::MutexLock lock(&mu_);
    LOG(INFO) << "worker pool: " << worker->address << " failed its health check";
    worker->serving = false;
    ++version_;
    // The watcher's stream ends and it retries after a backoff, health check first.
    if (worker->context != nullptr) worker->context->TryCancel();
  }
}

void WorkerPool::StartMaintenance(absl::Duration period) {
  maintenance_ = std::thread([this, period] {
    while (!stop_maintenance_.WaitForNotificationWithTimeout(period)) Maintain();
  });
}

bool WorkerPool::Configured(WorkerRole role) const {
  for (const auto& [entry_role, entry] : entries_) {
    if (entry_role == role) return true;
  }
  return false;
}

std::vector<WorkerView> WorkerPool::Candidates(WorkerRole role, absl::Span<const int32_t> prompt,
                                               const absl::flat_hash_set<std::string>& exclude) const {
  // Prompt block hashes per (model, block size): workers of one fleet normally share both.
  absl::flat_hash_map<std::pair<std::string, int>, std::vector<uint64_t>> hashes;
  std::vector<WorkerView> views;
  absl::MutexLock lock(&mu_);
  for (const auto& [address, worker] : workers_) {
    if (worker->role != role || !worker->InPool() || exclude.contains(address)) continue;
    WorkerView view;
    view.address = address;
    view.load = worker->load;
    view.in_flight = worker->in_flight;
    view.in_flight_prompt_tokens = worker->in_flight_prompt_tokens;
    view.prompt_tokens = static_cast<int64_t>(prompt.size());
    const int block_size = worker->load.kv_layout().block_size_tokens();
    view.block_size_tokens = block_size;
    if (block_size > 0) {
      auto key = std::make_pair(worker->load.model(), block_size);
      auto it = hashes.find(key);
      if (it == hashes.end()) {
        it = hashes
                 .emplace(key, kv_cache::PrefixBlockHashes(
                                   kv_cache::PrefixHashSeed(worker->load.model()), prompt,
                                   block_size))
                 .first;
      }
      view.prompt_blocks = static_cast<int32_t>(it->second.size());
      for (uint64_t hash : it->second) {
        if (!worker->cached_hashes.contains(hash)) break;
        ++view.cached_prefix_blocks;
      }
    }
    views.push_back(std::move(view));
  }
  return views;
}

std::vector<std::string> WorkerPool::Addresses(WorkerRole role) const {
  std::vector<std::string> addresses;
  absl::MutexLock lock(&mu_);
  for (const auto& [address, worker] : workers_) {
    if (worker->role == role) addresses.push_back(address);
  }
  return addresses;
}

bool WorkerPool::InPool(const std::string& address) const {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(address);
  return it != workers_.end() && it->second->InPool();
}

int32_t WorkerPool::ConsecutiveFailures(const std::string& address) const {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(address);
  return it == workers_.end() ? 0 : it->second->failures;
}

std::shared_ptr<grpc::Channel> WorkerPool::Channel(const std::string& address) const {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(address);
  return it == workers_.end() ? nullptr : it->second->channel;
}

std::unique_ptr<WorkerPool::InFlight> WorkerPool::Begin(const std::string& address,
                                                        int64_t prompt_tokens) const {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(address);
  if (it != workers_.end()) {
    ++it->second->in_flight;
    it->second->in_flight_prompt_tokens += prompt_tokens;
  }
  return std::unique_ptr<InFlight>(new InFlight(this, address, prompt_tokens));
}

WorkerPool::InFlight::~InFlight() {
  absl::MutexLock lock(&pool_->mu_);
  auto it = pool_->workers_.find(address_);
  if (it == pool_->workers_.end()) return;
  --it->second->in_flight;
  it->second->in_flight_prompt_tokens -= prompt_tokens_;
}

bool WorkerPool::WaitFor(const std::function<bool(const WorkerPool&)>& ready,
                         absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    uint64_t seen;
    {
      absl::MutexLock lock(&mu_);
      seen = version_;
    }
    if (ready(*this)) return true;
    absl::MutexLock lock(&mu_);
    auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return version_ != seen; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&changed), deadline) && version_ == seen) {
      return false;
    }
  }
}

}  // namespace baton::router
