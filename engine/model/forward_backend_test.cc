// ForwardPass does its heavy work only through the Backend it is given: a backend that records
// its calls (delegating to the CPU one) sees every weight product and embedding lookup of a
// step, and the logits equal those of the default CPU construction bit for bit.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kernels/cpu/matmul.h"
#include "engine/kernels/cpu/packed_weights.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/model/cpu_backend.h"
#include "engine/model/forward.h"
#include "engine/model/random_model.h"
#include "engine/threading/thread_pool.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

struct Calls {
  int matmuls = 0;
  int64_t matmul_rows = 0;
  int embeddings = 0;
  int loops = 0;
};

class RecordingBackend : public Backend {
 public:
  explicit RecordingBackend(Calls* calls) : calls_(calls), cpu_(nullptr) {}
  void MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y) override {
    ++calls_->matmuls;
    calls_->matmul_rows += m;
    cpu_.MatMul(w, x, m, y);
  }
  void EmbeddingRow(const WeightMatrix& w, int64_t row, float* out) override {
    ++calls_->embeddings;
    cpu_.EmbeddingRow(w, row, out);
  }
  void ParallelFor(int64_t n, int64_t work,
                   const std::function<void(int64_t, int64_t)>& fn) override {
    ++calls_->loops;
    cpu_.ParallelFor(n, work, fn);
  }

 private:
  Calls* calls_;
  CpuBackend cpu_;
};

// The CPU backend over the file's bytes only, ignoring weights repacked at load.
class FileWeightsBackend : public CpuBackend {
 public:
  explicit FileWeightsBackend(ThreadPool* threads) : CpuBackend(threads), threads_(threads) {}
  void MatMul(const WeightMatrix& w, const float* x, int64_t m, float* y) override {
    kernels::MatMul(w.type, w.data, w.rows, w.cols, x, m, y, threads_);
  }

 private:
  ThreadPool* threads_;
};

// Q4_0 weights are repacked at load on CPUs whose kernels read them so (AVX2, FMA and F16C);
// a prefill and a decode step over the repacked weights give the logits the file's bytes give,
// bit for bit.
TEST(ForwardBackendTest, WeightsRepackedAtLoadGiveTheFilesLogits) {
  if (!kernels::MatMulReadsPacked(TensorType::kQ4_0)) {
    GTEST_SKIP() << "this CPU's kernels read Q4_0 in place (no repacking to check)";
  }
  for (bool tied : {true, false}) {
    SCOPED_TRACE(tied ? "tied output" : "separate output");
    RandomModelSpec spec;
    spec.type = TensorType::kQ4_0;
    spec.tied_output = tied;
    ASSERT_OK_AND_ASSIGN(std::string bytes, BuildRandomModel(spec));
    ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(bytes));
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::FromGguf(std::move(file)));
    EXPECT_NE(model->output().cpu_packed, nullptr);
    EXPECT_EQ(model->token_embd().cpu_packed == model->output().cpu_packed, tied);
    for (int32_t i = 0; i < spec.n_layers; ++i) {
      const LayerWeights& l = model->layer(i);
      for (const WeightMatrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up,
                                    &l.ffn_down}) {
        ASSERT_NE(w->cpu_packed, nullptr) << "layer " << i;
      }
    }
    ASSERT_OK_AND_ASSIGN(auto threads, ThreadPool::Create(2));
    auto run = [&](ForwardPass& forward) {
      auto pool = KvPool::Create(model->config().MakeKvLayout(KvDType::kF16, 4), 8);
      EXPECT_TRUE(pool.ok());
      const std::vector<int32_t> table = {0, 1, 2, 3};
      const std::vector<int32_t> prompt = {1, 5, 9, 200, 7, 42, 3};
      const int32_t next = 11;
      SequenceStep prefill{table, prompt, 0, LogitsMode::kAll};
      StepLogits a, b;
      EXPECT_OK(forward.Run(**pool, {&prefill, 1}, &a));
      SequenceStep decode{table, {&next, 1}, static_cast<int32_t>(prompt.size()),
                          LogitsMode::kLast};
      EXPECT_OK(forward.Run(**pool, {&decode, 1}, &b));
      a.data.insert(a.data.end(), b.data.begin(), b.data.end());
      return a.data;
    };
    ForwardPass packed(model, threads.get());
    ForwardPass from_file(model, std::make_unique<FileWeightsBackend>(threads.get()));
    EXPECT_EQ(run(packed), run(from_file));
  }
}

TEST(ForwardBackendTest, EveryProductGoesThroughTheBackend) {
  for (ModelArch arch : {ModelArch::kLlama, ModelArch::kPhi3}) {
    SCOPED_TRACE(ModelArchName(arch));
    RandomModelSpec spec;
    spec.arch = arch;
    spec.n_embd = 64;
    spec.n_ff = 96;
    spec.vocab_size = 300;
    spec.n_layers = 3;
    spec.tied_output = false;
    ASSERT_OK_AND_ASSIGN(std::string bytes, BuildRandomModel(spec));
    ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(bytes));
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::FromGguf(std::move(file)));
    const std::vector<int32_t> tokens = {1, 5, 9, 200, 7};
    const std::vector<int32_t> table = {0, 1};
    auto run = [&](ForwardPass& forward) {
      auto pool = KvPool::Create(model->config().MakeKvLayout(KvDType::kF32, 4), 2);
      EXPECT_TRUE(pool.ok());
      SequenceStep step{table, tokens, 0, LogitsMode::kAll};
      StepLogits logits;
      EXPECT_OK(forward.Run(**pool, {&step, 1}, &logits));
      return logits.data;
    };
    ForwardPass cpu(model, nullptr);
    Calls calls;
    ForwardPass recorded(model, std::make_unique<RecordingBackend>(&calls));
    EXPECT_EQ(run(recorded), run(cpu));
    // Separate q/k/v and gate/up: 7 products a layer; fused (phi3): 4; plus the output.
    const int per_layer = arch == ModelArch::kPhi3 ? 4 : 7;
    EXPECT_EQ(calls.matmuls, per_layer * spec.n_layers + 1);
    EXPECT_EQ(calls.matmul_rows, static_cast<int64_t>(tokens.size()) * calls.matmuls);
    EXPECT_EQ(calls.embeddings, static_cast<int>(tokens.size()));
    EXPECT_EQ(calls.loops, 2 * spec.n_layers);  // attention and the FFN activation
  }
}

// Batched decode: one step appending a token to each of 6 sequences makes one product per
// weight with m = 6 (not a loop of single-row products), and each sequence's logits equal
// those of its decode step run alone, bit for bit: the row kernels of Q8_0, Q4_K and Q6_K
// (m = 1) round as their tiles, Q4_0's few-row path as its panels, and F16/BF16 weights
// repacked at load are read at one row with their GEMM's sums.
TEST(ForwardBackendTest, BatchedDecodeIsOneProductPerWeightAndEqualsSequencesAlone) {
  constexpr int kSequences = 6;
  for (TensorType type :
       {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_K, TensorType::kQ6_K,
        TensorType::kF16, TensorType::kBF16}) {
    SCOPED_TRACE(TensorTypeName(type));
    RandomModelSpec spec;  // 256 embd, 2 layers, separate q/k/v and gate/up
    spec.type = type;
    ASSERT_OK_AND_ASSIGN(std::string bytes, BuildRandomModel(spec));
    ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(bytes));
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::FromGguf(std::move(file)));
    ASSERT_OK_AND_ASSIGN(auto threads, ThreadPool::Create(2));
    const KvLayout layout = model->config().MakeKvLayout(KvDType::kF16, 4);
    std::vector<std::vector<int32_t>> prompts(kSequences), tables(kSequences);
    std::vector<int32_t> next(kSequences);
    for (int e = 0; e < kSequences; ++e) {
      for (int i = 0; i < 3 + 2 * e; ++i) prompts[e].push_back(3 + (e * 131 + i * 37) % 500);
      next[e] = 7 + 11 * e;
      for (int b = 0; b < 4; ++b) tables[e].push_back(4 * e + b);  // 16 positions each
    }
    // Prefills every sequence alone into `pool`; then the decode steps listed in `together`
    // (indices into the sequences) as one batch step.
    auto decode = [&](ForwardPass& forward, KvPool& pool, const std::vector<int>& together) {
      for (int e : together) {
        SequenceStep prefill{tables[e], prompts[e], 0, LogitsMode::kNone};
        EXPECT_OK(forward.Run(pool, {&prefill, 1}, nullptr));
      }
      std::vector<SequenceStep> steps;
      for (int e : together) {
        steps.push_back({tables[e], {&next[e], 1}, static_cast<int32_t>(prompts[e].size()),
                         LogitsMode::kLast});
      }
      StepLogits logits;
      EXPECT_OK(forward.Run(pool, steps, &logits));
      return logits;
    };

    Calls calls;
    ForwardPass recorded(model, std::make_unique<RecordingBackend>(&calls));
    ASSERT_OK_AND_ASSIGN(auto batch_pool, KvPool::Create(layout, 4 * kSequences));
    std::vector<int> all(kSequences);
    for (int e = 0; e < kSequences; ++e) all[e] = e;
    const Calls before = calls;
    StepLogits batch;
    {
      // Count only the decode step: run the prefills first on a plain pass sharing the pool.
      ForwardPass plain(model, threads.get());
      for (int e : all) {
        SequenceStep prefill{tables[e], prompts[e], 0, LogitsMode::kNone};
        ASSERT_OK(plain.Run(*batch_pool, {&prefill, 1}, nullptr));
      }
      std::vector<SequenceStep> steps;
      for (int e : all) {
        steps.push_back({tables[e], {&next[e], 1}, static_cast<int32_t>(prompts[e].size()),
                         LogitsMode::kLast});
      }
      ASSERT_OK(recorded.Run(*batch_pool, steps, &batch));
    }
    const int products = 7 * spec.n_layers + 1;
    EXPECT_EQ(calls.matmuls - before.matmuls, products);
    EXPECT_EQ(calls.matmul_rows - before.matmul_rows, int64_t{kSequences} * products);

    // The same batch on the CPU backend with two threads, and each sequence alone.
    ForwardPass forward(model, threads.get());
    ASSERT_OK_AND_ASSIGN(auto pool2, KvPool::Create(layout, 4 * kSequences));
    const StepLogits threaded = decode(forward, *pool2, all);
    EXPECT_EQ(threaded.data, batch.data);
    for (int e = 0; e < kSequences; ++e) {
      ASSERT_OK_AND_ASSIGN(auto alone_pool, KvPool::Create(layout, 4 * kSequences));
      const StepLogits alone = decode(forward, *alone_pool, {e});
      const std::span<const float> got = batch.Row(e), want = alone.Row(0);
      for (size_t v = 0; v < want.size(); ++v) {
        ASSERT_EQ(got[v], want[v]) << "sequence " << e << " logit " << v;
      }
    }
  }
}

}  // namespace
}  // namespace baton::engine
