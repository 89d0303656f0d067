// ForwardPass does its heavy work only through the Backend it is given: a backend that records
// its calls (delegating to the CPU one) sees every weight product and embedding lookup of a
// step, and the logits equal those of the default CPU construction bit for bit.
#include <memory>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/gguf/gguf_file.h"
#include "engine/kv_cache/kv_pool.h"
#include "engine/model/cpu_backend.h"
#include "engine/model/forward.h"
#include "engine/model/random_model.h"
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

}  // namespace
}  // namespace baton::engine
