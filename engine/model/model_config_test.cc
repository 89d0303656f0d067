#include "engine/model/model_config.h"

#include <functional>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/model/model.h"
#include "engine/model/random_model.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

using ::baton::testing::StatusIs;

// A metadata-only file (plus the embedding, which gives the vocabulary size).
std::string HeaderOnlyFile(const std::string& arch,
                           const std::function<void(gguf::GgufWriter&)>& extra) {
  gguf::GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetUint32(arch + ".embedding_length", 64);
  w.SetUint32(arch + ".block_count", 2);
  w.SetUint32(arch + ".feed_forward_length", 128);
  w.SetUint32(arch + ".attention.head_count", 8);
  w.SetUint32(arch + ".attention.head_count_kv", 2);
  extra(w);
  std::vector<float> embd(64 * 40, 0.0f);
  EXPECT_TRUE(w.AddTensor("token_embd.weight", TensorType::kF32, {64, 40},
                          std::string_view(reinterpret_cast<const char*>(embd.data()),
                                           embd.size() * sizeof(float)))
                  .ok());
  return w.Serialize();
}

absl::StatusOr<ModelConfig> ConfigOf(const std::string& arch,
                                     const std::function<void(gguf::GgufWriter&)>& extra) {
  auto file = gguf::GgufFile::FromBuffer(HeaderOnlyFile(arch, extra));
  if (!file.ok()) return file.status();
  return ReadModelConfig(**file);
}

TEST(ModelConfigTest, LlamaDefaultsAndGqa) {
  ASSERT_OK_AND_ASSIGN(ModelConfig c, ConfigOf("llama", [](gguf::GgufWriter&) {}));
  EXPECT_EQ(c.arch, ModelArch::kLlama);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.kv_dim(), 16);
  EXPECT_EQ(c.rope_dim, 8);
  EXPECT_FALSE(c.rope_neox);
  EXPECT_EQ(c.vocab_size, 40);
  EXPECT_EQ(c.rope_freq_scale, 1.0f);
  const KvLayout layout = c.MakeKvLayout(KvDType::kF16, 32);
  EXPECT_EQ(layout.num_layers, 2);
  EXPECT_EQ(layout.num_kv_heads, 2);
  EXPECT_EQ(layout.head_dim, 8);
}

TEST(ModelConfigTest, QwenUsesNeoxRopeAndKeyLength) {
  ASSERT_OK_AND_ASSIGN(ModelConfig c, ConfigOf("qwen3", [](gguf::GgufWriter& w) {
                         w.SetUint32("qwen3.attention.key_length", 16);
                         w.SetFloat32("qwen3.rope.freq_base", 1e6f);
                       }));
  EXPECT_TRUE(c.rope_neox);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.q_dim(), 128);
  EXPECT_EQ(c.rope_base, 1e6f);
  ASSERT_OK_AND_ASSIGN(ModelConfig q2, ConfigOf("qwen2", [](gguf::GgufWriter&) {}));
  EXPECT_TRUE(q2.qkv_bias);
}

TEST(ModelConfigTest, RopeScaling) {
  ASSERT_OK_AND_ASSIGN(ModelConfig c, ConfigOf("llama", [](gguf::GgufWriter& w) {
                         w.SetString("llama.rope.scaling.type", "linear");
                         w.SetFloat32("llama.rope.scaling.factor", 4.0f);
                       }));
  EXPECT_FLOAT_EQ(c.rope_freq_scale, 0.25f);
  EXPECT_THAT(ConfigOf("llama",
                       [](gguf::GgufWriter& w) { w.SetString("llama.rope.scaling.type", "yarn"); })
                  .status(),
              StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(ModelConfigTest, RejectsBadMetadata) {
  EXPECT_THAT(ConfigOf("gpt2", [](gguf::GgufWriter&) {}).status(),
              StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(ConfigOf("llama",
                       [](gguf::GgufWriter& w) { w.SetUint32("llama.attention.head_count_kv", 3); })
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // head_count_kv is set twice here: the reader rejects the duplicate key.
  EXPECT_FALSE(ConfigOf("llama", [](gguf::GgufWriter& w) {
                 w.SetInt32("llama.attention.head_count_kv", -1);
               }).ok());
  EXPECT_THAT(ConfigOf("llama",
                       [](gguf::GgufWriter& w) { w.SetUint32("llama.rope.dimension_count", 9); })
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ConfigOf("llama",
                       [](gguf::GgufWriter& w) {
                         w.SetFloat32("llama.attention.layer_norm_rms_epsilon", -1.0f);
                       })
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ModelTest, BindsTiedAndSeparateOutputsAndRejectsMissingTensors) {
  RandomModelSpec spec;
  ASSERT_OK_AND_ASSIGN(std::string tied_bytes, BuildRandomModel(spec));
  ASSERT_OK_AND_ASSIGN(auto tied_file, gguf::GgufFile::FromBuffer(tied_bytes));
  ASSERT_OK_AND_ASSIGN(auto tied, Model::FromGguf(std::move(tied_file)));
  EXPECT_TRUE(tied->tied_output());
  EXPECT_EQ(tied->output().data, tied->token_embd().data);

  spec.tied_output = false;
  spec.arch = ModelArch::kQwen2;
  ASSERT_OK_AND_ASSIGN(std::string bytes, BuildRandomModel(spec));
  ASSERT_OK_AND_ASSIGN(auto file, gguf::GgufFile::FromBuffer(bytes));
  ASSERT_OK_AND_ASSIGN(auto model, Model::FromGguf(std::move(file)));
  EXPECT_FALSE(model->tied_output());
  EXPECT_NE(model->output().data, model->token_embd().data);
  EXPECT_EQ(model->layer(1).q_bias.size(), 256u);

  ASSERT_OK_AND_ASSIGN(auto header_only,
                       gguf::GgufFile::FromBuffer(HeaderOnlyFile("llama", [](auto&) {})));
  EXPECT_THAT(Model::FromGguf(std::move(header_only)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));

}

}  // namespace
}  // namespace baton::engine
