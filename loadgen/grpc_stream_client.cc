#include "loadgen/grpc_stream_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"

namespace baton::loadgen {

// One Generate call. gRPC calls the reactor methods one at a time; OnDone is the last and frees
// the call.
class GrpcStreamClient::Call : public grpc::ClientReadReactor<baton::v1::GenerateResponse> {
 public:
  Call(GrpcStreamClient* client, const RequestSpec& spec, CallEvents events)
      : client_(client), events_(std::move(events)) {
    const CallOptions& options = client->options_;
    context_.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
    if (!options.api_key.empty()) {
      context_.AddMetadata("authorization", absl::StrCat("Bearer ", options.api_key));
    }
    request_.set_model(options.model);
    if (options.mode == PromptMode::kChat) {
      baton::v1::ChatMessage* message = request_.mutable_chat()->add_messages();
      message->set_role("user");
      message->set_content(spec.prompt);
    } else {
      request_.set_text(spec.prompt);
    }
    baton::v1::SamplingParams* sampling = request_.mutable_sampling();
    sampling->set_max_tokens(spec.output_tokens);
    sampling->set_ignore_eos(options.ignore_eos);
    sampling->set_temperature(options.temperature);
  }

  void Begin(baton::v1::Inference::Stub* stub) {
    stub->async()->Generate(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    if (response_.token_ids_size() > 0) events_.on_chunk(response_.token_ids_size());
    if (response_.has_usage()) {
      result_.prompt_tokens = response_.usage().prompt_tokens();
      result_.completion_tokens = response_.usage().completion_tokens();
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    result_.ok = status.ok();
    if (!status.ok()) {
      result_.error_code =
          absl::StrCat("grpc:", absl::StatusCodeToString(common::FromGrpcStatus(status).code()));
      result_.error_message = status.error_message();
    }
    events_.on_done(result_);
    GrpcStreamClient* client = client_;
    delete this;
    client->CallEnded();
  }

 private:
  GrpcStreamClient* client_;
  CallEvents events_;
  grpc::ClientContext context_;
  baton::v1::GenerateRequest request_;
  baton::v1::GenerateResponse response_;
  CallResult result_;
};

GrpcStreamClient::GrpcStreamClient(const std::string& target, CallOptions options)
    : options_(std::move(options)),
      stub_(baton::v1::Inference::NewStub(
          grpc::CreateChannel(target, grpc::InsecureChannelCredentials()))) {}

GrpcStreamClient::~GrpcStreamClient() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int64_t* running) { return *running == 0; }, &running_));
}

void GrpcStreamClient::Start(const RequestSpec& spec, CallEvents events) {
  {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  (new Call(this, spec, std::move(events)))->Begin(stub_.get());
}

void GrpcStreamClient::CallEnded() {
  absl::MutexLock lock(&mu_);
  --running_;
}

}  // namespace baton::loadgen
