// UcxKvTransport: construction, the progress thread, timers, the endpoint cache, Stats and Create.
// Declarations in ucx_transport_impl.h.

#include "kvtransfer/ucx/ucx_transport_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <ucp/api/ucp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "kvtransfer/ucx/ucx_settings.h"
#include "kvtransfer/ucx/ucx_status.h"
#include "kvtransfer/ucx/ucx_wire.h"

namespace baton::kvtransfer::ucx_internal {
namespace {

void OnEndpointErrorCallback(void* arg, ucp_ep_h ep, ucs_status_t status) {
  static_cast<UcxTransportImpl*>(arg)->OnEndpointError(ep, status);
}

}  // namespace

std::string CaptureUcxPrint(absl::FunctionRef<void(FILE*)> print) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&buffer, &size);
  if (stream == nullptr) return "";
  print(stream);
  fclose(stream);
  std::string text(buffer, size);
  free(buffer);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Transport.

absl::Status UcxTransportImpl::Init() {
  ucp_config_t* config = nullptr;
  RETURN_IF_ERROR(UcsToStatus(ucp_config_read(nullptr, nullptr, &config), "ucp_config_read"));
  for (const auto& [name, value] : EffectiveUcxSettings(options_.ucx_config, &std::getenv)) {
    const ucs_status_t status = ucp_config_modify(config, name.c_str(), value.c_str());
    if (status != UCS_OK) {
      ucp_config_release(config);
      return absl::InvalidArgumentError(
          absl::StrCat("UCX setting ", name, "=", value, ": ", ucs_status_string(status)));
    }
  }
  ucp_params_t params = {};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  if (options_.write_mode != Options::WriteMode::kActiveMessage) params.features |= UCP_FEATURE_RMA;
  params.mt_workers_shared = 0;
  const ucs_status_t init_status = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (init_status != UCS_OK) {
    context_ = nullptr;
    return absl::UnavailableError(absl::StrCat("ucp_init: ", ucs_status_string(init_status)));
  }
  ucp_worker_params_t worker_params = {};
  worker_params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  worker_params.thread_mode = UCS_THREAD_MODE_SINGLE;
  RETURN_IF_ERROR(
      UcsToStatus(ucp_worker_create(context_, &worker_params, &worker_), "ucp_worker_create"));
  ucp_address_t* address = nullptr;
  size_t address_length = 0;
  RETURN_IF_ERROR(UcsToStatus(ucp_worker_get_address(worker_, &address, &address_length),
                              "ucp_worker_get_address"));
  worker_address_.assign(reinterpret_cast<const char*>(address), address_length);
  ucp_worker_release_address(worker_, address);

  struct Handler {
    unsigned id;
    ucp_am_recv_callback_t cb;
  };
  for (const Handler& h :
       {Handler{ucx_wire::kDataAm, &OnDataAm}, Handler{ucx_wire::kFinishAm, &OnFinishAm},
        Handler{ucx_wire::kAbortAm, &OnAbortAm}, Handler{ucx_wire::kPutBeginAm, &OnPutBeginAm},
        Handler{ucx_wire::kPutReplyAm, &OnPutReplyAm}, Handler{ucx_wire::kStopAm, &OnStopAm},
        Handler{ucx_wire::kStoppedAm, &OnStoppedAm}}) {
    ucp_am_handler_param_t hp = {};
    hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                    UCP_AM_HANDLER_PARAM_FIELD_ARG;
    hp.id = h.id;
    hp.cb = h.cb;
    hp.arg = this;
    RETURN_IF_ERROR(UcsToStatus(ucp_worker_set_am_recv_handler(worker_, &hp),
                                "ucp_worker_set_am_recv_handler"));
  }

  // Writer ids name a put stream to its receiver; random so that senders in different processes do
  // not collide.
  next_writer_id_ = std::random_device()() | (static_cast<uint64_t>(std::random_device()()) << 32);
  RETURN_IF_ERROR(UcsToStatus(ucp_worker_get_efd(worker_, &worker_fd_), "ucp_worker_get_efd"));
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0) return absl::InternalError("eventfd/epoll_create1 failed");
  for (int fd : {worker_fd_, wake_fd_}) {
    epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return absl::InternalError("epoll_ctl failed");
    }
  }
  thread_ = std::thread([this] { Loop(); });
  thread_id_ = thread_.get_id();
  return absl::OkStatus();
}

UcxTransportImpl::~UcxTransportImpl() {
  if (thread_.joinable()) {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    has_posted_.store(true);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  if (context_ != nullptr) ucp_cleanup(context_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void UcxTransportImpl::Post(absl::AnyInvocable<void() &&> task) {
  {
    absl::MutexLock lock(&mu_);
    posted_.push_back(std::move(task));
  }
  has_posted_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void UcxTransportImpl::RunSync(absl::AnyInvocable<void() &&> task) {
  CHECK(std::this_thread::get_id() != thread_id_) << "RunSync on the progress thread";
  absl::Notification done;
  Post([&task, &done]() mutable {
    std::move(task)();
    done.Notify();
  });
  done.WaitForNotification();
}

bool UcxTransportImpl::RunPosted() {
  if (!has_posted_.load(std::memory_order_acquire)) return false;
  std::deque<absl::AnyInvocable<void() &&>> tasks;
  {
    absl::MutexLock lock(&mu_);
    tasks.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& task : tasks) std::move(task)();
  return !tasks.empty();
}

void UcxTransportImpl::PollFor(absl::Duration duration) {
  if (duration <= absl::ZeroDuration()) return;
  const int64_t until = absl::ToUnixNanos(absl::Now() + duration);
  int64_t current = poll_until_ns_.load(std::memory_order_relaxed);
  while (current < until &&
         !poll_until_ns_.compare_exchange_weak(current, until, std::memory_order_relaxed)) {
  }
  Post([] {});  // Wakes the loop if it sleeps.
}

void UcxTransportImpl::Loop() {
  absl::Time last_activity = absl::Now();
  while (true) {
    bool active = RunPosted();
    while (ucp_worker_progress(worker_) != 0) active = true;
    ReapClosedEndpoints();
    const absl::Time now = absl::Now();
    absl::Time next_timer = absl::InfiniteFuture();
    CheckTimers(now, &next_timer);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    if (active) {
      last_activity = now;
      continue;
    }
    if (now - last_activity < options_.spin_before_sleep && next_timer > now) continue;
    if (absl::ToUnixNanos(now) < poll_until_ns_.load(std::memory_order_relaxed) &&
        next_timer > now) {
      continue;
    }
    if (ucp_worker_arm(worker_) == UCS_ERR_BUSY) continue;
    if (has_posted_.load(std::memory_order_acquire)) continue;
    int timeout_ms = -1;
    if (next_timer != absl::InfiniteFuture()) {
      timeout_ms =
          static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(next_timer - now) + 1));
    }
    epoll_event events[2];
    epoll_wait(epoll_fd_, events, 2, timeout_ms);
    uint64_t drained;
    while (read(wake_fd_, &drained, sizeof(drained)) > 0) {
    }
    last_activity = absl::Now();
  }
  // Shutting down: fail every stream, close every endpoint, let UCX finish what it started.
  std::vector<std::shared_ptr<SendState>> streams;
  for (auto& [ptr, state] : streams_) streams.push_back(state);
  for (auto& state : streams) Fail(state, absl::AbortedError("UCX transport destroyed"));
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  for (auto& [address, endpoint] : endpoints_) endpoints.push_back(endpoint);
  for (auto& endpoint : endpoints) CloseEndpoint(endpoint, /*force=*/true);
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  while ((!streams_.empty() || !closing_.empty()) && absl::Now() < give_up) {
    RunPosted();
    ucp_worker_progress(worker_);
    ReapClosedEndpoints();
  }
  RunPosted();
  for (auto& [writer, state] : put_streams_) state->rkey.reset();
  put_streams_.clear();
}

void UcxTransportImpl::ReapClosedEndpoints() {
  for (size_t i = 0; i < closing_.size();) {
    if (ucp_request_check_status(closing_[i]) != UCS_INPROGRESS) {
      ucp_request_free(closing_[i]);
      closing_[i] = closing_.back();
      closing_.pop_back();
    } else {
      ++i;
    }
  }
}

void UcxTransportImpl::CheckTimers(absl::Time now, absl::Time* next) {
  if (streams_.empty()) return;
  std::vector<std::shared_ptr<SendState>> due;
  for (auto& [ptr, state] : streams_) {
    if (state->failure.ok()) {
      if (state->deadline <= now) {
        due.push_back(state);
      } else {
        *next = std::min(*next, state->deadline);
      }
    } else if (state->force_close_at != absl::InfiniteFuture()) {
      if (state->force_close_at <= now) {
        due.push_back(state);
      } else {
        *next = std::min(*next, state->force_close_at);
      }
    }
  }
  for (auto& state : due) {
    if (!state->failure.ok() && state->put_phase == SendState::PutPhase::kAwaitGrant) {
      GiveUpGrant(state);
      if (state->outstanding_ops == 0) {
        state->force_close_at = absl::InfiniteFuture();
        Settle(state);
        continue;
      }
    }
    if (state->failure.ok()) {
      Fail(state, absl::DeadlineExceededError(absl::StrCat(
                      "KV transfer ", state->target.transfer_id, " passed its deadline")));
    } else if (state->outstanding_ops > 0 && state->endpoint != nullptr &&
               state->endpoint->detects_peer_failure) {
      state->force_close_at = absl::InfiniteFuture();
      LOG(WARNING) << "KV transfer " << state->target.transfer_id
                   << ": requests still pending after cancel; closing the endpoint";
      CloseEndpoint(state->endpoint, /*force=*/true);
    } else if (state->outstanding_ops > 0) {
      // Force-closing an endpoint without peer-failure handling is undefined behaviour in
      // UCX; give up on its stuck requests instead (they keep `state` alive) and stop using
      // the endpoint.
      LOG(WARNING) << "KV transfer " << state->target.transfer_id
                   << ": abandoning requests stuck after " << state->failure;
      state->force_close_at = absl::InfiniteFuture();
      state->abandoned = true;
      state->outstanding_ops = 0;
      state->finish_outstanding = 0;
      for (auto& [layer, pending] : state->layers) pending.outstanding = 0;
      if (state->endpoint != nullptr) {
        auto it = endpoints_.find(state->endpoint->address);
        if (it != endpoints_.end() && it->second == state->endpoint) endpoints_.erase(it);
      }
      Settle(state);
    } else {
      state->force_close_at = absl::InfiniteFuture();
    }
  }
}

absl::StatusOr<std::shared_ptr<Endpoint>> UcxTransportImpl::GetEndpoint(
    const std::string& address) {
  auto it = endpoints_.find(address);
  if (it != endpoints_.end()) return it->second;
  if (address.empty()) return absl::UnavailableError("empty UCX peer address");
  auto endpoint = std::make_shared<Endpoint>();
  endpoint->address = address;
  ucp_ep_params_t params = {};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                      UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.address = reinterpret_cast<const ucp_address_t*>(address.data());
  params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  params.err_handler.cb = &OnEndpointErrorCallback;
  params.err_handler.arg = this;
  // Peer-failure detection even for a peer on this host, although UCX 1.13 then leaves out its
  // shared-memory transports (tcp loopback carries the messages): a shared-memory queue is not
  // crash-safe. A sender killed between reserving a slot of the receiver's queue and marking it
  // written leaves that slot unfinished forever, and the receiver reads nothing after it from
  // any peer again (ucx_peer_death_test caught this).
  ucs_status_t status = ucp_ep_create(worker_, &params, &endpoint->ep);
  if (status == UCS_ERR_UNREACHABLE) {
    // No configured transport to this peer supports peer-failure handling (UCX_TLS names only
    // shared memory): connect without it; deadlines then bound what a dead peer can cost, and a
    // crash mid-message can wedge the queue as above.
    params.field_mask &= ~UCP_EP_PARAM_FIELD_ERR_HANDLER;
    params.err_mode = UCP_ERR_HANDLING_MODE_NONE;
    endpoint->detects_peer_failure = false;
    status = ucp_ep_create(worker_, &params, &endpoint->ep);
  }
  if (status != UCS_OK) {
    endpoint->ep = nullptr;
    absl::Status error = UcsToStatus(status, "ucp_ep_create");
    // An address that cannot be reached or parsed both mean: this peer is not usable.
    if (error.code() != absl::StatusCode::kUnavailable) {
      error = absl::UnavailableError(error.message());
    }
    return error;
  }
  endpoints_[address] = endpoint;
  return endpoint;
}

void UcxTransportImpl::CloseEndpoint(const std::shared_ptr<Endpoint>& endpoint, bool force) {
  auto it = endpoints_.find(endpoint->address);
  if (it != endpoints_.end() && it->second == endpoint) endpoints_.erase(it);
  if (endpoint->ep == nullptr) return;
  if (endpoint->failure.ok()) endpoint->failure = absl::UnavailableError("endpoint closed");
  endpoint->remote_keys.clear();  // Streams still putting keep theirs.
  ucp_ep_h ep = endpoint->ep;
  endpoint->ep = nullptr;
  ucp_request_param_t param = {};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
  ucs_status_ptr_t request = ucp_ep_close_nbx(ep, &param);
  if (request != nullptr && !UCS_PTR_IS_ERR(request)) closing_.push_back(request);
}

void UcxTransportImpl::OnEndpointError(ucp_ep_h ep, ucs_status_t status) {
  std::shared_ptr<Endpoint> endpoint;
  for (auto& [address, candidate] : endpoints_) {
    if (candidate->ep == ep) endpoint = candidate;
  }
  absl::Status why = UcsToStatus(status, "KV peer failed");
  if (why.code() != absl::StatusCode::kUnavailable) why = absl::UnavailableError(why.message());
  std::vector<std::shared_ptr<SendState>> affected;
  for (auto& [ptr, state] : streams_) {
    if (state->endpoint != nullptr && state->endpoint->ep == ep) affected.push_back(state);
  }
  if (endpoint != nullptr) {
    endpoint->failure = why;
    CloseEndpoint(endpoint, /*force=*/true);
    // Put writers on that peer are dead: they write no more.
    std::vector<std::pair<uint64_t, RemoteWriter>> dead;
    for (const auto& [writer, remote] : remote_writers_) {
      if (remote.address == endpoint->address) dead.emplace_back(writer, remote);
    }
    for (const auto& [writer, remote] : dead) {
      remote_writers_.erase(writer);
      absl::MutexLock lock(&receivers_mu_);
      auto it = receivers_.find(remote.pool_base);
      if (it != receivers_.end())
        it->second->tracker().PutWriterStopped(remote.transfer_id, writer);
    }
  }
  for (auto& state : affected) {
    Fail(state, why);
    GiveUpGrant(state);
    Settle(state);
  }
}

TransportStats UcxTransportImpl::Stats() const {
  TransportStats stats;
  stats.sending_transfers = sending_.load();
  stats.dropped_writes = unrouted_drops_.load();
  absl::MutexLock lock(&receivers_mu_);
  stats.live_registrations = static_cast<int64_t>(receivers_.size());
  for (const auto& [base, receiver] : receivers_) {
    stats.receiving_transfers += receiver->tracker().live_transfers();
    stats.landings_in_flight += receiver->tracker().landings_in_flight();
    stats.dropped_writes += receiver->tracker().dropped_writes();
  }
  return stats;
}

}  // namespace baton::kvtransfer::ucx_internal

namespace baton::kvtransfer {

absl::StatusOr<std::unique_ptr<UcxKvTransport>> UcxKvTransport::Create(const Options& options) {
  auto transport = std::make_unique<ucx_internal::UcxTransportImpl>(options);
  RETURN_IF_ERROR(transport->Init());
  return std::unique_ptr<UcxKvTransport>(std::move(transport));
}

}  // namespace baton::kvtransfer
