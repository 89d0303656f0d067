#include "engine/runtime/engine.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/random_model.h"
#include "engine/runtime/generate.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

using ::baton::testing::StatusIs;

std::shared_ptr<const Model> MakeModel(const RandomModelSpec& spec) {
  absl::StatusOr<std::string> bytes = BuildRandomModel(spec);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  auto file = gguf::GgufFile::FromBuffer(*std::move(bytes));
  EXPECT_TRUE(file.ok()) << file.status();
  auto model = Model::FromGguf(*std::move(file));
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

std::unique_ptr<Engine> MakeEngine(std::shared_ptr<const Model> model, int threads = 2) {
  auto engine = Engine::Create(std::move(model), {.num_threads = threads});
  EXPECT_TRUE(engine.ok()) << engine.status();
  return *std::move(engine);
}

std::vector<int32_t> Tokens(int n, int seed) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(3 + (seed * 131 + i * 37) % 500);
  return t;
}

float MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// All-position logits of `tokens` run as one prefill in a fresh pool.
std::vector<float> PrefillLogits(Engine& engine, const std::vector<int32_t>& tokens) {
  auto pool = engine.CreateKvPool(KvDType::kF32, 16, 8);
  EXPECT_TRUE(pool.ok());
  BlockTable seq;
  EXPECT_TRUE(seq.Reserve(**pool, tokens.size()).ok());
  SequenceStep step{seq.blocks(), tokens, 0, LogitsMode::kAll};
  StepLogits logits;
  EXPECT_TRUE(engine.Step(**pool, {&step, 1}, &logits).ok());
  return logits.data;
}

TEST(EngineTest, BatchedMixedPrefillDecodeMatchesAlone) {
  for (const ArchSpec& arch : AllArchs()) {
    SCOPED_TRACE(arch.name);
    RandomModelSpec spec;
    spec.arch = arch.arch;
    // A window shorter than the 21-token prefill, so batched window attention is compared too.
    spec.sliding_window = 8;
    spec.type = TensorType::kQ8_0;
    auto engine = MakeEngine(MakeModel(spec));
    const std::vector<int32_t> a = Tokens(21, 1);       // prefill 21 tokens
    const std::vector<int32_t> b_prefix = Tokens(10, 2);  // already in the cache
    const std::vector<int32_t> b_next = {77};           // decode one token
    const std::vector<int32_t> c = Tokens(5, 3);        // prefill 5, all logits

    // Alone: each sequence in its own pool.
    std::vector<float> a_alone = PrefillLogits(*engine, a);
    std::vector<int32_t> b_all = b_prefix;
    b_all.push_back(b_next[0]);
    std::vector<float> b_alone = PrefillLogits(*engine, b_all);
    std::vector<float> c_alone = PrefillLogits(*engine, c);

    // Together in one pool: b's prefix first, then one mixed step.
    ASSERT_OK_AND_ASSIGN(auto pool, engine->CreateKvPool(KvDType::kF32, 4, 32));
    BlockTable ta, tb, tc;
    ASSERT_OK(tb.Reserve(*pool, 11));
    SequenceStep warm{tb.blocks(), b_prefix, 0, LogitsMode::kNone};
    ASSERT_OK(engine->Step(*pool, {&warm, 1}, nullptr));
    tb.Advance(10);
    ASSERT_OK(ta.Reserve(*pool, a.size()));
    ASSERT_OK(tc.Reserve(*pool, c.size()));
    std::vector<SequenceStep> batch = {
        {ta.blocks(), a, 0, LogitsMode::kLast},
        {tb.blocks(), b_next, tb.num_tokens(), LogitsMode::kLast},
        {tc.blocks(), c, 0, LogitsMode::kAll},
    };
    StepLogits logits;
    ASSERT_OK(engine->Step(*pool, batch, &logits));
    const int32_t v = logits.vocab_size;
    ASSERT_EQ(logits.num_rows, (std::vector<int32_t>{1, 1, 5}));
    EXPECT_LT(MaxAbsDiff(logits.Row(0), {a_alone.data() + (a.size() - 1) * v, size_t(v)}), 1e-4);
    EXPECT_LT(MaxAbsDiff(logits.Row(1), {b_alone.data() + 10 * v, size_t(v)}), 1e-4);
    for (int i = 0; i < 5; ++i) {
      EXPECT_LT(MaxAbsDiff(logits.Row(2, i), {c_alone.data() + i * v, size_t(v)}), 1e-4) << i;
    }
  }
}

TEST(EngineTest, KvExportImportContinuesIdentically) {
  for (KvDType dtype : {KvDType::kF16, KvDType::kF32}) {
    RandomModelSpec spec;
    spec.weight_std = 0.1f;  // livelier than 0.02, so greedy tokens vary
    auto engine = MakeEngine(MakeModel(spec));
    ASSERT_OK_AND_ASSIGN(auto src, engine->CreateKvPool(dtype, 4, 16));
    ASSERT_OK_AND_ASSIGN(auto dst, engine->CreateKvPool(dtype, 4, 16));
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> taken, dst->Allocate(5));  // shift dst's ids
    const std::vector<int32_t> prompt = Tokens(10, 4);
    BlockTable s;
    ASSERT_OK(s.Reserve(*src, 20));
    StepLogits logits;
    SequenceStep step{s.blocks(), prompt, 0, LogitsMode::kLast};
    ASSERT_OK(engine->Step(*src, {&step, 1}, &logits));
    s.Advance(prompt.size());
    std::vector<float> first(logits.Row(0).begin(), logits.Row(0).end());

    // Ship every slab of the filled blocks to different block ids in the other pool.
    BlockTable d;
    ASSERT_OK(d.Reserve(*dst, 20));
    ASSERT_NE(d.blocks()[0], s.blocks()[0]);
    std::vector<uint8_t> slab(src->layout().LayerBlockBytes());
    const int32_t filled = src->layout().BlocksFor(s.num_tokens());
    for (int32_t layer = 0; layer < src->layout().num_layers; ++layer) {
      for (int32_t i = 0; i < filled; ++i) {
        ASSERT_OK(src->ExportSlab(layer, s.blocks()[i], slab));
        ASSERT_OK(dst->ImportSlab(layer, d.blocks()[i], slab));
      }
    }
    d.Advance(s.num_tokens());

    // Greedy-decode 8 tokens in both pools; tokens and every logit must agree exactly.
    struct Decoded {
      std::vector<int32_t> tokens;
      std::vector<float> logits;
    };
    auto decode = [&](KvPool& pool, BlockTable& t) {
      Decoded out;
      std::vector<float> row = first;
      for (int i = 0; i < 8; ++i) {
        out.tokens.push_back(
            static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin()));
        SequenceStep st{t.blocks(), {&out.tokens.back(), 1}, t.num_tokens(), LogitsMode::kLast};
        StepLogits l;
        EXPECT_TRUE(engine->Step(pool, {&st, 1}, &l).ok());
        t.Advance(1);
        row.assign(l.Row(0).begin(), l.Row(0).end());
        out.logits.insert(out.logits.end(), row.begin(), row.end());
      }
      return out;
    };
    const Decoded from_src = decode(*src, s);
    const Decoded from_dst = decode(*dst, d);
    EXPECT_EQ(from_dst.tokens, from_src.tokens);
    EXPECT_EQ(from_dst.logits, from_src.logits);
    // Without the import the continuation differs (the test would notice a no-op transfer).
    BlockTable empty;
    ASSERT_OK(empty.Reserve(*dst, 20));
    empty.Advance(s.num_tokens() - 8);
    EXPECT_NE(decode(*dst, empty).logits, from_src.logits);
  }
}

TEST(EngineTest, LayerCallbackSeesThatLayersKvWritten) {
  RandomModelSpec spec;
  spec.n_layers = 3;
  auto engine = MakeEngine(MakeModel(spec));
  ASSERT_OK_AND_ASSIGN(auto pool, engine->CreateKvPool(KvDType::kF16, 16, 2));
  BlockTable t;
  ASSERT_OK(t.Reserve(*pool, 4));
  const std::vector<int32_t> prompt = Tokens(4, 5);
  SequenceStep step{t.blocks(), prompt, 0, LogitsMode::kLast};
  std::vector<int32_t> layers;
  auto nonzero = [&](int32_t layer) {
    const uint8_t* p = pool->Slab(layer, t.blocks()[0]);
    return std::any_of(p, p + pool->layout().LayerBlockBytes(), [](uint8_t b) { return b != 0; });
  };
  StepLogits logits;
  ASSERT_OK(engine->Step(*pool, {&step, 1}, &logits, [&](int32_t layer) {
    layers.push_back(layer);
    EXPECT_TRUE(nonzero(layer)) << layer;
    if (layer + 1 < 3) EXPECT_FALSE(nonzero(layer + 1)) << layer;
  }));
  EXPECT_EQ(layers, (std::vector<int32_t>{0, 1, 2}));
}

TEST(EngineTest, RejectsBadSteps) {
  RandomModelSpec spec;
  auto engine = MakeEngine(MakeModel(spec));
  ASSERT_OK_AND_ASSIGN(auto pool, engine->CreateKvPool(KvDType::kF16, 4, 4));
  std::vector<int32_t> blocks = {0, 1};
  std::vector<int32_t> ok_tokens = {5, 6, 7};
  std::vector<int32_t> bad_token = {5, 100000};
  std::vector<int32_t> long_tokens = Tokens(9, 1);
  StepLogits logits;
  auto run = [&](SequenceStep s) { return engine->Step(*pool, {&s, 1}, &logits); };
  EXPECT_THAT(run({blocks, bad_token, 0}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(run({blocks, long_tokens, 0}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(run({blocks, {}, 0}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(run({blocks, ok_tokens, -1}), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<int32_t> outside = {0, 9};
  EXPECT_THAT(run({outside, ok_tokens, 2}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(run({blocks, ok_tokens, 511}), StatusIs(absl::StatusCode::kInvalidArgument));
  KvLayout other = pool->layout();
  other.num_layers += 1;
  ASSERT_OK_AND_ASSIGN(auto wrong_pool, KvPool::Create(other, 4));
  SequenceStep s{blocks, ok_tokens, 0};
  EXPECT_THAT(engine->Step(*wrong_pool, {&s, 1}, &logits),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Two sequences appending into the same block.
  std::vector<int32_t> other_blocks = {3, 1};
  std::vector<SequenceStep> clash = {{blocks, ok_tokens, 4}, {other_blocks, ok_tokens, 4}};
  EXPECT_THAT(engine->Step(*pool, clash, &logits), StatusIs(absl::StatusCode::kInvalidArgument));
  // ... while sharing a block that both only read is fine (block 0 here).
  std::vector<int32_t> fork = {0, 2};
  std::vector<SequenceStep> shared_prefix = {{blocks, ok_tokens, 4}, {fork, ok_tokens, 4}};
  EXPECT_OK(engine->Step(*pool, shared_prefix, &logits));
  EXPECT_OK(run({blocks, ok_tokens, 0}));
  EXPECT_THAT(Engine::Create(nullptr, {}).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Each quantized type against the same weights dequantized to F32 and run through the F32
// path. The gap comes from the kernels rounding activations (8-bit blocks for the integer
// types, 16-bit floats for f16/bf16); tolerance: 4% of the largest |logit| (~0.3 here).
TEST(EngineTest, QuantizedLogitsStayCloseToDequantizedF32) {
  const std::vector<int32_t> prompt = Tokens(6, 7);
  for (TensorType type : kAllTensorTypes) {
    if (type == TensorType::kF32) continue;
    SCOPED_TRACE(std::string(TensorTypeName(type)));
    RandomModelSpec spec;
    spec.type = type;
    spec.seed = 11;
    auto quantized = MakeEngine(MakeModel(spec));
    spec.dequantize_to_f32 = true;
    auto reference = MakeEngine(MakeModel(spec));
    const std::vector<float> q = PrefillLogits(*quantized, prompt);
    const std::vector<float> r = PrefillLogits(*reference, prompt);
    float max_ref = 0;
    for (float x : r) max_ref = std::max(max_ref, std::fabs(x));
    ASSERT_GT(max_ref, 0.1f);
    const float diff = MaxAbsDiff(q, r);
    EXPECT_LT(diff, 0.04f * max_ref) << "max |logit| " << max_ref;
    std::cerr << TensorTypeName(type) << ": max diff " << diff << " of max |logit| " << max_ref
              << "\n";
  }
}

TEST(EngineTest, GenerateIsSeededAndValidates) {
  RandomModelSpec spec;
  auto engine = MakeEngine(MakeModel(spec));
  GenerateOptions options;
  options.max_tokens = 12;
  options.sampling.temperature = 1.5f;
  options.sampling.seed = 5;
  const std::vector<int32_t> prompt = Tokens(5, 9);
  ASSERT_OK_AND_ASSIGN(GenerateResult a, Generate(*engine, prompt, options));
  ASSERT_OK_AND_ASSIGN(GenerateResult b, Generate(*engine, prompt, options));
  EXPECT_EQ(a.tokens.size(), 12u);
  EXPECT_EQ(a.tokens, b.tokens);
  options.sampling.seed = 6;
  ASSERT_OK_AND_ASSIGN(GenerateResult c, Generate(*engine, prompt, options));
  EXPECT_NE(a.tokens, c.tokens);
  // A stop token ends generation right after it is emitted.
  options.stop_tokens = {a.tokens[3]};
  options.sampling.seed = 5;
  ASSERT_OK_AND_ASSIGN(GenerateResult stopped, Generate(*engine, prompt, options));
  const size_t first_stop =
      std::find(a.tokens.begin(), a.tokens.end(), a.tokens[3]) - a.tokens.begin();
  EXPECT_EQ(stopped.tokens,
            std::vector<int32_t>(a.tokens.begin(), a.tokens.begin() + first_stop + 1));
  EXPECT_EQ(stopped.decode_steps, static_cast<int32_t>(first_stop));
  options.sampling.top_p = 0.0f;
  EXPECT_THAT(Generate(*engine, prompt, options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Generate(*engine, {}, GenerateOptions{}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace baton::engine
