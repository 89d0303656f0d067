#include "router/request_pipeline.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "router/stop_strings.h"
#include "router/utf8_text.h"
#include "serving/sampling.h"

namespace baton::router {
namespace {

using baton::v1::FinishReason;
using baton::v1::GenerateResponse;

std::string NewRequestId() {
  static thread_local std::mt19937_64 random(std::random_device{}());
  return absl::StrFormat("req-%016x", random());
}

// The prompt must leave room in the context for max_tokens (all of the rest when 0).
absl::StatusOr<int32_t> ResolveMaxTokens(int32_t prompt_tokens, int32_t requested,
                                         int32_t context_length) {
  if (prompt_tokens >= context_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt is ", prompt_tokens, " tokens, but the model's context is ", context_length,
        " tokens and must also hold at least one generated token"));
  }
  const int32_t room = context_length - prompt_tokens;
  if (requested > room) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_tokens is ", requested, " and the prompt is ", prompt_tokens,
        " tokens: together more than the model's context of ", context_length, " tokens"));
  }
  return requested == 0 ? room : requested;
}

// Fills the text of each token in `lp` from the tokenizer (workers send ids only).
void FillLogprobTexts(const engine::tokenizer::Tokenizer& tokenizer, baton::v1::PositionLogprobs& lp) {
  lp.mutable_chosen()->set_text(tokenizer.TokenPiece(lp.chosen().token_id()));
  for (baton::v1::TokenLogprob& top : *lp.mutable_top()) {
    top.set_text(tokenizer.TokenPiece(top.token_id()));
  }
}

}  // namespace

RequestPipeline::RequestPipeline(const ServedModel* model, GenerationRunner* runner,
                                 RouterMetrics* metrics, PipelineOptions options)
    : model_(model),
      runner_(runner),
      metrics_(metrics),
      options_(options),
      admission_(options.max_running, options.max_waiting) {}

absl::StatusOr<const ServedModel*> RequestPipeline::FindModel(const std::string& name) const {
  if (name.empty() || name == model_->id()) return model_;
  return absl::NotFoundError(absl::StrCat("the model '", name, "' does not exist; this router serves '",
                                          model_->id(), "'"));
}

absl::StatusOr<GenerateResponse> RequestPipeline::Generate(const baton::v1::GenerateRequest& request,
                                                           const CallContext& context,
                                                           const ChunkSink& on_chunk) {
  absl::StatusOr<GenerateResponse> result = Run(request, context, on_chunk);
  metrics_->SetQueue(admission_.running(), admission_.waiting());
  return result;
}

absl::StatusOr<GenerateResponse> RequestPipeline::Run(const baton::v1::GenerateRequest& request,
                                                      const CallContext& context,
                                                      const ChunkSink& on_chunk) {
  const absl::Time arrival = absl::Now();
  ASSIGN_OR_RETURN(const ServedModel* model, FindModel(request.model()));
  ASSIGN_OR_RETURN(std::vector<int32_t> prompt, model->PromptIds(request));
  RETURN_IF_ERROR(serving::SamplingFromProto(request.sampling()).status());
  const int32_t prompt_tokens = static_cast<int32_t>(prompt.size());
  ASSIGN_OR_RETURN(const int32_t max_tokens,
                   ResolveMaxTokens(prompt_tokens, request.sampling().max_tokens(),
                                    model->info().context_length()));

  const absl::Time deadline = std::min(context.deadline, arrival + options_.request_timeout);
  ASSIGN_OR_RETURN(std::unique_ptr<Admission::Slot> slot, admission_.Enter(deadline));
  metrics_->SetQueue(admission_.running(), admission_.waiting());

  DisaggRequest work;
  work.request_id = request.request_id().empty() ? NewRequestId() : request.request_id();
  work.prompt = std::move(prompt);
  work.sampling = request.sampling();
  work.sampling.set_max_tokens(max_tokens);
  work.local_prefill = options_.local_prefill;
  work.timeout = deadline - absl::Now();

  const engine::tokenizer::Tokenizer& tokenizer = model->codec().tokenizer();
  engine::tokenizer::IncrementalDecoder decoder = model->codec().NewStream();
  StopStringFilter stops({request.sampling().stop().begin(), request.sampling().stop().end()});
  int32_t completion_tokens = 0;
  bool client_gone = false;
  absl::Time first_token_at = absl::InfiniteFuture();
  absl::Time last_token_at;
  auto on_tokens = [&](const baton::internal::v1::DecodedTokens& message) {
    const absl::Time now = absl::Now();
    GenerateResponse chunk;
    chunk.set_request_id(work.request_id);
    std::string text;
    for (int32_t id : message.token_ids()) {
      if (stops.stopped()) break;
      ++completion_tokens;
      chunk.add_token_ids(id);
      text += stops.Push(decoder.Feed(id));
    }
    // One logprob per token when requested (the first token's included); none past a stop.
    for (int i = 0; i < message.logprobs_size() && i < chunk.token_ids_size(); ++i) {
      baton::v1::PositionLogprobs* lp = chunk.add_logprobs();
      *lp = message.logprobs(i);
      FillLogprobTexts(tokenizer, *lp);
    }
    chunk.set_text_delta(ValidUtf8(text));
    if (first_token_at == absl::InfiniteFuture()) {
      first_token_at = now;
      metrics_->ObserveFirstToken(absl::ToDoubleSeconds(now - arrival));
    } else if (message.token_ids_size() > 0) {
      const double gap = absl::ToDoubleSeconds(now - last_token_at) / message.token_ids_size();
      for (int i = 0; i < message.token_ids_size(); ++i) metrics_->ObserveInterToken(gap);
    }
    last_token_at = now;
    if (!on_chunk(chunk)) {
      client_gone = true;
      return false;
    }
    return !stops.stopped();  // A stop string ends the request on the workers too.
  };
  absl::StatusOr<DisaggResult> result = runner_->Generate(work, on_tokens);
  if (client_gone) return absl::CancelledError("the client went away");
  if (!result.ok() && !(stops.stopped() && absl::IsCancelled(result.status()))) {
    return result.status();
  }

  FinishReason finish = baton::v1::FINISH_REASON_STOP_STRING;
  if (!stops.stopped()) {
    std::string tail = stops.Push(decoder.Flush());
    tail += stops.Flush();
    finish = stops.stopped() ? baton::v1::FINISH_REASON_STOP_STRING : result->finished.finish_reason();
    if (!tail.empty()) {
      GenerateResponse chunk;
      chunk.set_request_id(work.request_id);
      chunk.set_text_delta(ValidUtf8(tail));
      if (!on_chunk(chunk)) return absl::CancelledError("the client went away");
    }
  }

  const absl::Time end = absl::Now();
  GenerateResponse final_message;
  final_message.set_request_id(work.request_id);
  final_message.set_finish_reason(finish);
  baton::v1::Usage* usage = final_message.mutable_usage();
  usage->set_prompt_tokens(prompt_tokens);
  usage->set_completion_tokens(completion_tokens);
  usage->set_total_tokens(prompt_tokens + completion_tokens);
  baton::v1::Timings* timings = final_message.mutable_timings();
  timings->set_queue_seconds(absl::ToDoubleSeconds(slot->waited()));
  if (result.ok()) {
    const auto& prefill = result->prefill.timings();
    timings->set_queue_seconds(timings->queue_seconds() + prefill.queue_seconds());
    timings->set_prefill_seconds(prefill.compute_seconds() + result->finished.prefill_seconds());
    timings->set_kv_transfer_seconds(prefill.transfer_seconds());
    timings->set_decode_seconds(result->finished.decode_seconds());
  }
  if (first_token_at != absl::InfiniteFuture()) {
    timings->set_time_to_first_token_seconds(absl::ToDoubleSeconds(first_token_at - arrival));
  }
  timings->set_total_seconds(absl::ToDoubleSeconds(end - arrival));
  metrics_->ObserveFinished(finish == baton::v1::FINISH_REASON_LENGTH ? "length" : "stop",
                            prompt_tokens, completion_tokens, timings->total_seconds());
  return final_message;
}

baton::v1::ListModelsResponse RequestPipeline::ListModels() const {
  baton::v1::ListModelsResponse response;
  *response.add_models() = model_->info();
  return response;
}

absl::StatusOr<baton::v1::TokenizeResponse> RequestPipeline::Tokenize(
    const baton::v1::TokenizeRequest& request) const {
  ASSIGN_OR_RETURN(const ServedModel* model, FindModel(request.model()));
  std::vector<int32_t> ids;
  if (request.input_case() == baton::v1::TokenizeRequest::kChat) {
    ASSIGN_OR_RETURN(ids, model->EncodeChat(request.chat()));
  } else {
    ASSIGN_OR_RETURN(ids, model->EncodeText(request.text(), request.add_special()));
  }
  baton::v1::TokenizeResponse response;
  const engine::tokenizer::Tokenizer& tokenizer = model->codec().tokenizer();
  for (int32_t id : ids) {
    response.add_token_ids(id);
    response.add_pieces(tokenizer.TokenPiece(id));
  }
  return response;
}

absl::StatusOr<std::string> RequestPipeline::ChatTemplateText(const std::string& model) const {
  ASSIGN_OR_RETURN(const ServedModel* served, FindModel(model));
  return served->chat_template_text();
}

}  // namespace baton::router
