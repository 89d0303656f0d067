#include "router/openai_response.h"

#include <utility>

#include "router/json_fields.h"

namespace baton::router {
namespace {

using baton::v1::GenerateResponse;
using baton::v1::PositionLogprobs;
using baton::v1::TokenLogprob;
using Json = nlohmann::json;

Json FinishReasonJson(baton::v1::FinishReason reason) {
  const std::string_view text = FinishReasonText(reason);
  return text.empty() ? Json(nullptr) : Json(text);
}

// Characters (code points) in UTF-8 `text`, as Python clients measure offsets.
int64_t CodePoints(std::string_view text) {
  int64_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

class CompletionFormat : public OpenAiResponseFormat {
 public:
  using OpenAiResponseFormat::OpenAiResponseFormat;

 protected:
  std::string_view ObjectName(bool) const override { return "text_completion"; }

  void SetStreamText(Json& choice, std::string_view text, bool) const override {
    choice["text"] = text;
  }
  void SetWholeText(Json& choice, std::string_view text) const override { choice["text"] = text; }

  Json LogprobsObject(const Logprobs& positions) override {
    Json tokens = Json::array(), token_logprobs = Json::array(), top_logprobs = Json::array(),
         text_offset = Json::array();
    for (const PositionLogprobs& position : positions) {
      const TokenLogprob& chosen = position.chosen();
      tokens.push_back(chosen.text());
      token_logprobs.push_back(chosen.logprob());
      // The legacy API always includes the chosen token among the alternatives.
      Json top = Json::object();
      for (const TokenLogprob& alternative : position.top()) {
        top[alternative.text()] = alternative.logprob();
      }
      if (!top.contains(chosen.text())) top[chosen.text()] = chosen.logprob();
      top_logprobs.push_back(std::move(top));
      text_offset.push_back(text_offset_);
      text_offset_ += CodePoints(chosen.text());
    }
    return Json{{"tokens", std::move(tokens)},
                {"token_logprobs", std::move(token_logprobs)},
                {"top_logprobs", std::move(top_logprobs)},
                {"text_offset", std::move(text_offset)}};
  }

 private:
  // Where the next token starts in the completion's text: streamed chunks continue the count.
  int64_t text_offset_ = 0;
};

class ChatCompletionFormat : public OpenAiResponseFormat {
 public:
  using OpenAiResponseFormat::OpenAiResponseFormat;

 protected:
  std::string_view ObjectName(bool chunk) const override {
    return chunk ? "chat.completion.chunk" : "chat.completion";
  }

  void SetStreamText(Json& choice, std::string_view text, bool first) const override {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    // The last chunk's delta is empty: it only carries finish_reason.
    if (first || !text.empty()) delta["content"] = text;
    choice["delta"] = std::move(delta);
  }

  void SetWholeText(Json& choice, std::string_view text) const override {
    choice["message"] = Json{{"role", "assistant"}, {"content", text}};
  }

  Json LogprobsObject(const Logprobs& positions) override {
    Json content = Json::array();
    for (const PositionLogprobs& position : positions) {
      Json entry = TokenJson(position.chosen());
      Json top = Json::array();
      for (const TokenLogprob& alternative : position.top()) top.push_back(TokenJson(alternative));
      entry["top_logprobs"] = std::move(top);
      content.push_back(std::move(entry));
    }
    return Json{{"content", std::move(content)}};
  }

 private:
  // {token, logprob, bytes}: bytes are the UTF-8 bytes, which a token cut inside a character
  // needs to be put back together.
  static Json TokenJson(const TokenLogprob& token) {
    Json bytes = Json::array();
    for (const char c : token.text()) bytes.push_back(static_cast<unsigned char>(c));
    return Json{{"token", token.text()}, {"logprob", token.logprob()}, {"bytes", std::move(bytes)}};
  }
};

}  // namespace

std::string OpenAiErrorBody(const ApiError& error) {
  Json code = nullptr;
  switch (error.http_status) {
    case 401:
      code = "invalid_api_key";
      break;
    case 404:
      code = "model_not_found";
      break;
    case 429:
      code = "rate_limit_exceeded";
      break;
  }
  return DumpJson(Json{{"error",
                        {{"message", error.message},
                         {"type", OpenAiErrorType(error.http_status)},
                         {"param", error.param ? Json(*error.param) : Json(nullptr)},
                         {"code", std::move(code)}}}});
}

Json OpenAiUsage(const baton::v1::Usage& usage) {
  return Json{{"prompt_tokens", usage.prompt_tokens()},
              {"completion_tokens", usage.completion_tokens()},
              {"total_tokens", usage.total_tokens()}};
}

OpenAiResponseFormat::OpenAiResponseFormat(OpenAiResponseIdentity identity, bool logprobs,
                                           bool include_usage)
    : identity_(std::move(identity)), logprobs_(logprobs), include_usage_(include_usage) {}

Json OpenAiResponseFormat::Envelope(bool chunk) const {
  Json envelope{{"id", identity_.id},
                {"object", ObjectName(chunk)},
                {"created", identity_.created},
                {"model", identity_.model}};
  if (chunk && include_usage_) envelope["usage"] = nullptr;
  return envelope;
}

Json OpenAiResponseFormat::StreamChoice(std::string_view text, const Logprobs& positions,
                                        const Json& finish_reason) {
  Json choice{{"index", 0}, {"finish_reason", finish_reason}};
  SetStreamText(choice, text, first_chunk_);
  first_chunk_ = false;
  choice["logprobs"] = logprobs_ && !positions.empty() ? LogprobsObject(positions) : Json(nullptr);
  return choice;
}

Json OpenAiResponseFormat::StreamChunk(const GenerateResponse& chunk) {
  // Tokens whose text is withheld (a stop string may claim it) and that bring no logprobs
  // would make an empty event.
  if (chunk.text_delta().empty() && (!logprobs_ || chunk.logprobs().empty())) return nullptr;
  Json event = Envelope(/*chunk=*/true);
  event["choices"] = Json::array({StreamChoice(chunk.text_delta(), chunk.logprobs(), nullptr)});
  return event;
}

Json OpenAiResponseFormat::FinishChunk(const GenerateResponse& final_response) {
  Json event = Envelope(/*chunk=*/true);
  event["choices"] =
      Json::array({StreamChoice("", Logprobs(), FinishReasonJson(final_response.finish_reason()))});
  return event;
}

Json OpenAiResponseFormat::UsageChunk(const GenerateResponse& final_response) const {
  Json event = Envelope(/*chunk=*/true);
  event["choices"] = Json::array();
  event["usage"] = OpenAiUsage(final_response.usage());
  return event;
}

void OpenAiResponseFormat::Accumulate(const GenerateResponse& chunk) {
  text_ += chunk.text_delta();
  if (logprobs_) {
    for (const PositionLogprobs& position : chunk.logprobs()) *positions_.Add() = position;
  }
}

Json OpenAiResponseFormat::WholeResponse(const GenerateResponse& final_response) {
  Json choice{{"index", 0},
              {"finish_reason", FinishReasonJson(final_response.finish_reason())},
              {"logprobs", logprobs_ ? LogprobsObject(positions_) : Json(nullptr)}};
  SetWholeText(choice, text_);
  Json response = Envelope(/*chunk=*/false);
  response["choices"] = Json::array({std::move(choice)});
  response["usage"] = OpenAiUsage(final_response.usage());
  return response;
}

std::unique_ptr<OpenAiResponseFormat> NewCompletionFormat(OpenAiResponseIdentity identity,
                                                          bool logprobs, bool include_usage) {
  return std::make_unique<CompletionFormat>(std::move(identity), logprobs, include_usage);
}

std::unique_ptr<OpenAiResponseFormat> NewChatCompletionFormat(OpenAiResponseIdentity identity,
                                                              bool logprobs, bool include_usage) {
  return std::make_unique<ChatCompletionFormat>(std::move(identity), logprobs, include_usage);
}

}  // namespace baton::router
