#include "router/testing/fake_worker.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_server.h"
#include "common/logging.h"

namespace baton::router::testing {

namespace v1 = ::baton::internal::v1;

int32_t FakeNextToken(const std::vector<int32_t>& history) {
  uint64_t h = history.size();
  for (int32_t t : history) h = h * 1000003u + static_cast<uint32_t>(t);
  return 3 + static_cast<int32_t>(h % 997);
}

std::vector<int32_t> FakeGenerate(std::vector<int32_t> prompt, int32_t count) {
  std::vector<int32_t> out;
  for (int32_t i = 0; i < count; ++i) {
    out.push_back(FakeNextToken(prompt));
    prompt.push_back(out.back());
  }
  return out;
}

void FakeKvFabric::Complete(const std::string& transfer_id, int32_t first_token) {
  absl::MutexLock lock(&mu_);
  done_[transfer_id] = first_token;
}

int32_t FakeKvFabric::Await(const std::string& transfer_id, absl::Duration timeout,
                            const std::function<bool()>& cancelled) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  auto arrived = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_.contains(transfer_id); };
  while (!mu_.AwaitWithTimeout(absl::Condition(&arrived), absl::Milliseconds(20))) {
    if (cancelled() || absl::Now() >= deadline) return -1;
  }
  return done_[transfer_id];
}

class FakeWorker::Services final : public v1::WorkerService::Service,
                                   public v1::DecodeService::Service,
                                   public v1::PrefillService::Service {
 public:
  Services(v1::WorkerRole role, FakeKvFabric* fabric) : role_(role), fabric_(fabric) {
    load_.set_role(role);
    load_.set_model("fake");
    load_.mutable_kv_layout()->set_block_size_tokens(4);
    load_.set_total_kv_blocks(64);
    load_.set_free_kv_blocks(64);
  }

  grpc::Status GetLoad(grpc::ServerContext*, const v1::GetLoadRequest*,
                       v1::WorkerLoad* response) override {
    absl::MutexLock lock(&mu_);
    *response = load_;
    return grpc::Status::OK;
  }

  grpc::Status WatchLoad(grpc::ServerContext* context, const v1::WatchLoadRequest*,
                         grpc::ServerWriter<v1::WorkerLoad>* writer) override {
    uint64_t sent = 0;
    while (!context->IsCancelled()) {
      v1::WorkerLoad load;
      {
        absl::MutexLock lock(&mu_);
        auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return version_ != sent || stopped_;
        };
        mu_.AwaitWithTimeout(absl::Condition(&changed), absl::Milliseconds(50));
        if (stopped_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stopped");
        if (version_ == sent) continue;
        sent = version_;
        load = load_;
      }
      if (!writer->Write(load)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Decode(grpc::ServerContext* context, const v1::DecodeRequest* request,
                      grpc::ServerWriter<v1::DecodeResponse>* writer) override {
    int32_t die_after = 0;
    std::string transfer_id;
    absl::Duration lease;
    {
      absl::MutexLock lock(&mu_);
      ++decode_calls_;
      decode_requests_.push_back(*request);
      if (decode_failure_ != grpc::StatusCode::OK) {
        return grpc::Status(decode_failure_, "scripted decode failure");
      }
      die_after = die_after_;
      die_after_ = 0;
      transfer_id = absl::StrCat(port_, "-", decode_calls_);
      lease = lease_;
    }
    std::vector<int32_t> history(request->prompt_token_ids().begin(),
                                 request->prompt_token_ids().end());
    int32_t first = 0;
    v1::DecodeResponse message;
    if (request->local_prefill() ||
        request->local_prefill_max_tokens() >= static_cast<int32_t>(history.size())) {
      message.mutable_local_prefill();
      writer->Write(message);
      first = FakeNextToken(history);
    } else {
      v1::KvTarget* target = message.mutable_kv_target();
      target->set_transfer_id(transfer_id);
      target->set_lease_deadline_unix_micros(absl::ToUnixMicros(absl::Now() + lease));
      writer->Write(message);
      first = fabric_->Await(transfer_id, absl::Seconds(10),
                             [context] { return context->IsCancelled(); });
      if (first < 0 || context->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the KV never came");
      }
    }
    const int32_t count = request->sampling().max_tokens();
    for (int32_t i = 0; i < count; ++i) {
      const int32_t token = i == 0 ? first : FakeNextToken(history);
      history.push_back(token);
      v1::DecodeResponse tokens;
      tokens.mutable_tokens()->add_token_ids(token);
      if (!writer->Write(tokens)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
      if (die_after > 0 && i + 1 == die_after) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "scripted death");
      }
    }
    v1::DecodeResponse finished;
    finished.mutable_finished()->set_finish_reason(baton::v1::FINISH_REASON_LENGTH);
    finished.mutable_finished()->set_completion_tokens(count);
    writer->Write(finished);
    return grpc::Status::OK;
  }

  grpc::Status RenewLease(grpc::ServerContext*, const v1::RenewLeaseRequest* request,
                          v1::RenewLeaseResponse* response) override {
    absl::MutexLock lock(&mu_);
    if (!absl::StartsWith(request->transfer_id(), absl::StrCat(port_, "-"))) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "not a transfer of this worker");
    }
    ++renewals_;
    response->set_lease_millis(absl::ToInt64Milliseconds(lease_));
    response->set_lease_deadline_unix_micros(absl::ToUnixMicros(absl::Now() + lease_));
    return grpc::Status::OK;
  }

  grpc::Status Prefill(grpc::ServerContext* context, const v1::PrefillRequest* request,
                       v1::PrefillResponse* response) override {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      hook = prefill_hook_;
    }
    if (hook != nullptr) hook();
    {
      absl::MutexLock lock(&mu_);
      ++prefill_calls_;
      if (prefill_failure_ != grpc::StatusCode::OK) {
        return grpc::Status(prefill_failure_, "scripted prefill failure");
      }
      if (hang_prefill_) {
        // Until the caller gives up (its deadline or cancel) or the worker stops.
        auto over = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopped_ || context->IsCancelled();
        };
        while (!mu_.AwaitWithTimeout(absl::Condition(&over), absl::Milliseconds(20))) {
        }
        return grpc::Status(grpc::StatusCode::CANCELLED, "hung prefill given up");
      }
    }
    const int32_t first = FakeNextToken(
        {request->prompt_token_ids().begin(), request->prompt_token_ids().end()});
    fabric_->Complete(request->kv_target().transfer_id(), first);
    response->set_first_token_id(first);
    return grpc::Status::OK;
  }

  const v1::WorkerRole role_;
  FakeKvFabric* const fabric_;
  int port_ = 0;
  mutable absl::Mutex mu_;
  v1::WorkerLoad load_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::StatusCode decode_failure_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  grpc::StatusCode prefill_failure_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  bool hang_prefill_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> prefill_hook_ ABSL_GUARDED_BY(mu_);
  int32_t die_after_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t decode_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t prefill_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t renewals_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration lease_ ABSL_GUARDED_BY(mu_) = absl::Seconds(30);
  std::vector<v1::DecodeRequest> decode_requests_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<FakeWorker> FakeWorker::Start(v1::WorkerRole role, FakeKvFabric* fabric, int port) {
  auto worker = std::unique_ptr<FakeWorker>(new FakeWorker());
  worker->role_ = role;
  worker->fabric_ = fabric;
  worker->port_ = port;
  worker->services_ = std::make_unique<Services>(role, fabric);
  worker->Serve();
  return worker;
}

void FakeWorker::Serve() {
  {
    absl::MutexLock lock(&services_->mu_);
    services_->stopped_ = false;
  }
  common::GrpcServerOptions options;
  options.port = port_;
  absl::StatusOr<common::StartedGrpcServer> started = common::StartGrpcServer(
      options, {static_cast<v1::WorkerService::Service*>(services_.get()),
                static_cast<v1::DecodeService::Service*>(services_.get()),
                static_cast<v1::PrefillService::Service*>(services_.get())});
  CHECK(started.ok()) << started.status();
  server_ = std::move(started->server);
  port_ = started->port;
  absl::MutexLock lock(&services_->mu_);
  services_->port_ = port_;
}

FakeWorker::~FakeWorker() { Stop(); }

std::string FakeWorker::address() const { return absl::StrCat("127.0.0.1:", port_); }

void FakeWorker::PublishLoad(v1::WorkerLoad load) {
  absl::MutexLock lock(&services_->mu_);
  if (load.role() == v1::WORKER_ROLE_UNSPECIFIED) load.set_role(role_);
  if (load.model().empty()) load.set_model("fake");
  if (!load.has_kv_layout()) load.mutable_kv_layout()->set_block_size_tokens(4);
  services_->load_ = std::move(load);
  ++services_->version_;
}

void FakeWorker::SetServing(bool serving) {
  if (server_ != nullptr) common::SetServing(*server_, serving);
}

void FakeWorker::Stop() {
  if (server_ == nullptr) return;
  {
    absl::MutexLock lock(&services_->mu_);
    services_->stopped_ = true;
  }
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
}

void FakeWorker::Restart() {
  Stop();
  Serve();
}

void FakeWorker::FailDecode(grpc::StatusCode code) {
  absl::MutexLock lock(&services_->mu_);
  services_->decode_failure_ = code;
}

void FakeWorker::FailPrefill(grpc::StatusCode code) {
  absl::MutexLock lock(&services_->mu_);
  services_->prefill_failure_ = code;
}

void FakeWorker::OnPrefill(std::function<void()> hook) {
  absl::MutexLock lock(&services_->mu_);
  services_->prefill_hook_ = std::move(hook);
}

void FakeWorker::HangPrefill() {
  absl::MutexLock lock(&services_->mu_);
  services_->hang_prefill_ = true;
}

void FakeWorker::DieAfterTokens(int32_t tokens) {
  absl::MutexLock lock(&services_->mu_);
  services_->die_after_ = tokens;
}

int32_t FakeWorker::decode_calls() const {
  absl::MutexLock lock(&services_->mu_);
  return services_->decode_calls_;
}

int32_t FakeWorker::prefill_calls() const {
  absl::MutexLock lock(&services_->mu_);
  return services_->prefill_calls_;
}

int32_t FakeWorker::renewals() const {
  absl::MutexLock lock(&services_->mu_);
  return services_->renewals_;
}

void FakeWorker::SetLease(absl::Duration lease) {
  absl::MutexLock lock(&services_->mu_);
  services_->lease_ = lease;
}

std::vector<v1::DecodeRequest> FakeWorker::decode_requests() const {
  absl::MutexLock lock(&services_->mu_);
  return services_->decode_requests_;
}

}  // namespace baton::router::testing
