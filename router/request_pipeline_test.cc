#include "router/request_pipeline.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "engine/model/random_model.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace baton::router {
namespace {

using ::baton::testing::IsOk;
using ::baton::testing::StatusIs;
using ::testing::HasSubstr;

// The random model's vocabulary: <unk>, <s>, </s>, then byte tokens <0x00>..<0xFF>.
int32_t ByteToken(char c) { return 3 + static_cast<unsigned char>(c); }

// Streams scripted token messages, as the workers would; stops when the callback says so.
class ScriptedRunner : public GenerationRunner {
 public:
  std::vector<std::vector<int32_t>> messages;
  DisaggRequest seen;
  absl::Notification* started = nullptr;  // Notified when a request arrives.
  absl::Notification* release = nullptr;  // Waited for before streaming.
  bool cancelled = false;

  absl::StatusOr<DisaggResult> Generate(const DisaggRequest& request,
                                        const TokenCallback& on_tokens) override {
    seen = request;
    if (started != nullptr) started->Notify();
    if (release != nullptr) release->WaitForNotification();
    DisaggResult result;
    for (const auto& ids : messages) {
      baton::internal::v1::DecodedTokens message;
      message.mutable_token_ids()->Add(ids.begin(), ids.end());
      result.tokens.insert(result.tokens.end(), ids.begin(), ids.end());
      if (!on_tokens(message)) {
        cancelled = true;
        return absl::CancelledError("cancelled by the caller");
      }
    }
    result.finished.set_finish_reason(baton::v1::FINISH_REASON_LENGTH);
    result.finished.set_completion_tokens(static_cast<int32_t>(result.tokens.size()));
    return result;
  }
};

std::vector<int32_t> Spell(const std::string& text) {
  std::vector<int32_t> ids;
  for (char c : text) ids.push_back(ByteToken(c));
  return ids;
}

class RequestPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::RandomModelSpec spec;
    spec.context_length = 64;
    const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/tiny.gguf";
    ASSERT_THAT(engine::WriteRandomModel(spec, path), IsOk());
    ASSERT_OK_AND_ASSIGN(model_, ServedModel::Load(path, "tiny"));
    metrics_ = std::make_unique<RouterMetrics>(registry_, vllm_registry_, "tiny");
  }
  std::unique_ptr<RequestPipeline> MakePipeline(PipelineOptions options = {}) {
    return std::make_unique<RequestPipeline>(model_.get(), &runner_, metrics_.get(), options);
  }
  // Runs `request`; returns the streamed text, and the final message through `final_message`.
  absl::StatusOr<std::string> Collect(RequestPipeline& pipeline,
                                      const baton::v1::GenerateRequest& request,
                                      baton::v1::GenerateResponse* final_message = nullptr) {
    std::string text;
    absl::StatusOr<baton::v1::GenerateResponse> result =
        pipeline.Generate(request, {.endpoint = "test"}, [&](const auto& chunk) {
          EXPECT_EQ(chunk.finish_reason(), baton::v1::FINISH_REASON_UNSPECIFIED);
          text += chunk.text_delta();
          return true;
        });
    if (!result.ok()) return result.status();
    if (final_message != nullptr) *final_message = *result;
    return text;
  }
  static baton::v1::GenerateRequest TextRequest(const std::string& prompt) {
    baton::v1::GenerateRequest request;
    request.set_text(prompt);
    request.mutable_sampling()->set_temperature(0);
    return request;
  }

  prometheus::Registry registry_;
  prometheus::Registry vllm_registry_;
  std::unique_ptr<ServedModel> model_;
  std::unique_ptr<RouterMetrics> metrics_;
  ScriptedRunner runner_;
};

TEST_F(RequestPipelineTest, StreamsTextWithUsageAndFillsMaxTokensToTheContext) {
  auto pipeline = MakePipeline();
  runner_.messages = {Spell("Hel"), Spell("lo"), Spell(", world")};
  baton::v1::GenerateResponse final_message;
  ASSERT_OK_AND_ASSIGN(std::string text, Collect(*pipeline, TextRequest("hi"), &final_message));
  EXPECT_EQ(text, "Hello, world");
  EXPECT_EQ(final_message.finish_reason(), baton::v1::FINISH_REASON_LENGTH);
  const int32_t prompt_tokens = static_cast<int32_t>(runner_.seen.prompt.size());
  EXPECT_EQ(runner_.seen.prompt.front(), 1);  // BOS, as the vocabulary asks.
  EXPECT_EQ(final_message.usage().prompt_tokens(), prompt_tokens);
  EXPECT_EQ(final_message.usage().completion_tokens(), 12);
  EXPECT_EQ(final_message.usage().total_tokens(), prompt_tokens + 12);
  EXPECT_EQ(runner_.seen.sampling.max_tokens(), 64 - prompt_tokens);
  EXPECT_FALSE(runner_.seen.request_id.empty());
  EXPECT_GT(final_message.timings().total_seconds(), 0);
}

TEST_F(RequestPipelineTest, StopStringSpanningTokensEndsTheTextExactlyBeforeIt) {
  auto pipeline = MakePipeline();
  runner_.messages = {Spell("The end"), Spell(" is ST"), Spell("OP here"), Spell("never")};
  baton::v1::GenerateRequest request = TextRequest("hi");
  request.mutable_sampling()->add_stop("STOP");
  baton::v1::GenerateResponse final_message;
  ASSERT_OK_AND_ASSIGN(std::string text, Collect(*pipeline, request, &final_message));
  EXPECT_EQ(text, "The end is ");
  EXPECT_EQ(final_message.finish_reason(), baton::v1::FINISH_REASON_STOP_STRING);
  EXPECT_TRUE(runner_.cancelled);  // The workers stop too.
  // Tokens up to the one completing the stop string were generated and count.
  EXPECT_EQ(final_message.usage().completion_tokens(), 7 + 6 + 2);
}

TEST_F(RequestPipelineTest, HeldBackTextIsReleasedAtTheEnd) {
  auto pipeline = MakePipeline();
  runner_.messages = {Spell("so ST")};
  baton::v1::GenerateRequest request = TextRequest("hi");
  request.mutable_sampling()->add_stop("STOP");
  baton::v1::GenerateResponse final_message;
  ASSERT_OK_AND_ASSIGN(std::string text, Collect(*pipeline, request, &final_message));
  EXPECT_EQ(text, "so ST");
  EXPECT_EQ(final_message.finish_reason(), baton::v1::FINISH_REASON_LENGTH);
}

TEST_F(RequestPipelineTest, LimitsNameTheNumbers) {
  auto pipeline = MakePipeline();
  EXPECT_THAT(Collect(*pipeline, TextRequest(std::string(100, 'x'))).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("context is 64 tokens")));
  baton::v1::GenerateRequest request = TextRequest("hi");
  request.mutable_sampling()->set_max_tokens(1000);
  EXPECT_THAT(Collect(*pipeline, request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_tokens is 1000")));
  request.mutable_sampling()->set_max_tokens(-1);
  EXPECT_THAT(Collect(*pipeline, request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.mutable_sampling()->set_max_tokens(4);
  request.mutable_sampling()->set_temperature(-1);
  EXPECT_THAT(Collect(*pipeline, request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Collect(*pipeline, TextRequest("")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Collect(*pipeline, TextRequest("bad \xff utf8")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UTF-8")));
  request = TextRequest("hi");
  request.set_model("gpt-4");
  EXPECT_THAT(Collect(*pipeline, request).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("gpt-4")));
}

TEST_F(RequestPipelineTest, ChatGoesThroughTheDefaultTemplate) {
  auto pipeline = MakePipeline();
  runner_.messages = {Spell("ok")};
  baton::v1::GenerateRequest request;
  auto* m = request.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("hi");
  ASSERT_OK_AND_ASSIGN(std::string text, Collect(*pipeline, request));
  EXPECT_EQ(text, "ok");
  baton::v1::TokenizeRequest tokenize;
  *tokenize.mutable_chat() = request.chat();
  ASSERT_OK_AND_ASSIGN(baton::v1::TokenizeResponse tokens, pipeline->Tokenize(tokenize));
  EXPECT_EQ(std::vector<int32_t>(tokens.token_ids().begin(), tokens.token_ids().end()),
            runner_.seen.prompt);
  std::string rendered;
  for (const std::string& piece : tokens.pieces()) rendered += piece;
  EXPECT_THAT(rendered, HasSubstr("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"));
  m->set_role("tool");
  EXPECT_THAT(Collect(*pipeline, request).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RequestPipelineTest, ClientGoneCancelsTheWorkers) {
  auto pipeline = MakePipeline();
  runner_.messages = {Spell("a"), Spell("b"), Spell("c")};
  absl::StatusOr<baton::v1::GenerateResponse> result =
      pipeline->Generate(TextRequest("hi"), {}, [](const auto&) { return false; });
  EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(runner_.cancelled);
}

TEST_F(RequestPipelineTest, OverAdmissionIsRefusedAtOnce) {
  auto pipeline = MakePipeline({.max_running = 1, .max_waiting = 0});
  absl::Notification started, release;
  runner_.started = &started;
  runner_.release = &release;
  runner_.messages = {Spell("a")};
  std::thread first([&] { EXPECT_THAT(Collect(*pipeline, TextRequest("hi")).status(), IsOk()); });
  started.WaitForNotification();
  const absl::Time start = absl::Now();
  EXPECT_THAT(Collect(*pipeline, TextRequest("hi")).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(50));
  release.Notify();
  first.join();
  EXPECT_EQ(pipeline->admission().running(), 0);
}

TEST_F(RequestPipelineTest, BytesThatFormNoCharacterBecomeReplacementCharacters) {
  // A lone continuation byte and a lead byte followed by ASCII: no UTF-8 character.
  runner_.messages = {{ByteToken('a'), ByteToken('\x80')}, {ByteToken('\xC3'), ByteToken('b')}};
  auto pipeline = MakePipeline();
  ASSERT_OK_AND_ASSIGN(std::string text, Collect(*pipeline, TextRequest("hi")));
  EXPECT_EQ(text, "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
}

}  // namespace
}  // namespace baton::router
