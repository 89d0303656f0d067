#include "router/disagg_client.h"

#include "router/handoff.h"

namespace baton::router {

namespace v1 = ::baton::internal::v1;

DisaggClient::DisaggClient(std::shared_ptr<grpc::Channel> decode,
                           std::shared_ptr<grpc::Channel> prefill)
    : DisaggClient(std::move(decode), prefill == nullptr
                                          ? std::vector<std::shared_ptr<grpc::Channel>>{}
                                          : std::vector<std::shared_ptr<grpc::Channel>>{prefill}) {}

DisaggClient::DisaggClient(std::shared_ptr<grpc::Channel> decode,
                           const std::vector<std::shared_ptr<grpc::Channel>>& prefill)
    : decode_(v1::DecodeService::NewStub(decode)) {
  for (const auto& channel : prefill) prefill_.push_back(v1::PrefillService::NewStub(channel));
}

absl::StatusOr<DisaggResult> DisaggClient::Generate(const DisaggRequest& request,
                                                    const TokenCallback& on_tokens) {
  if (!request.local_prefill && prefill_.empty()) {
    return absl::FailedPreconditionError("no prefill worker for a disaggregated request");
  }
  const v1::DecodeRequest decode_request = MakeDecodeRequest(request);
  const absl::Time deadline = request.timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + request.timeout;
  // Each worker once, starting with the next in turn; only UNAVAILABLE and RESOURCE_EXHAUSTED
  // move on (a slow worker is waited for until the request's deadline).
  const size_t first = next_prefill_.fetch_add(1);
  const PrefillPicker picker = [&](int attempt,
                                   const absl::Status& last) -> v1::PrefillService::Stub* {
    if (static_cast<size_t>(attempt) >= prefill_.size()) return nullptr;
    if (attempt > 0 && !absl::IsUnavailable(last) && !absl::IsResourceExhausted(last)) {
      return nullptr;
    }
    return prefill_[(first + attempt) % prefill_.size()].get();
  };
  DisaggResult result;
  const HandoffOutcome outcome =
      RunHandoff(*decode_, decode_request, deadline, absl::InfiniteDuration(), picker, on_tokens,
                 &result);
  if (!outcome.status.ok()) return outcome.status;
  return result;
}

}  // namespace baton::router
