#include "engine/model/model_config.h"

#include <cmath>
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
                           const std::function<void(gguf::GgufWriter&)>& extra,
                           uint32_t layers = 2) {
  gguf::GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetUint32(arch + ".embedding_length", 64);
  w.SetUint32(arch + ".block_count", layers);
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
                                     const std::function<void(gguf::GgufWriter&)>& extra,
                                     uint32_t layers = 2) {
  auto file = gguf::GgufFile::FromBuffer(HeaderOnlyFile(arch, extra, layers));
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
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.q_dim(), 128);
  EXPECT_EQ(c.rope_base, 1e6f);
  ASSERT_OK_AND_ASSIGN(ModelConfig q2, ConfigOf("qwen2", [](gguf::GgufWriter& w) {
                         w.SetUint32("qwen2.attention.sliding_window", 7);
                       }));
  EXPECT_TRUE(q2.rope_neox);
  EXPECT_EQ(q2.sliding_window, 0);  // qwen2's table entry ignores the key, as llama.cpp does
}

TEST(ModelConfigTest, RopeScaling) {
  ASSERT_OK_AND_ASSIGN(ModelConfig c, ConfigOf("llama", [](gguf::GgufWriter& w) {
                         w.SetString("llama.rope.scaling.type", "linear");
                         w.SetFloat32("llama.rope.scaling.factor", 4.0f);
                       }));
  EXPECT_FLOAT_EQ(c.rope_freq_scale, 0.25f);
  EXPECT_EQ(c.rope_scaling, RopeScaling::kLinear);
  ASSERT_OK_AND_ASSIGN(ModelConfig yarn, ConfigOf("qwen2", [](gguf::GgufWriter& w) {
                         w.SetString("qwen2.rope.scaling.type", "yarn");
                         w.SetFloat32("qwen2.rope.scaling.factor", 4.0f);
                         w.SetUint32("qwen2.rope.scaling.original_context_length", 32768);
                       }));
  EXPECT_EQ(yarn.rope_scaling, RopeScaling::kYarn);
  EXPECT_FLOAT_EQ(yarn.rope_freq_scale, 0.25f);
  EXPECT_EQ(yarn.rope_orig_context, 32768);
  EXPECT_THAT(ConfigOf("llama",
                       [](gguf::GgufWriter& w) {
                         w.SetString("llama.rope.scaling.type", "dynamic");
                       })
                  .status(),
              StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(ModelConfigTest, ArchitectureKeysFromTheTable) {
  ASSERT_OK_AND_ASSIGN(ModelConfig g2, ConfigOf("gemma2", [](gguf::GgufWriter& w) {
                         w.SetUint32("gemma2.attention.key_length", 32);
                         w.SetUint32("gemma2.attention.value_length", 32);
                         w.SetFloat32("gemma2.final_logit_softcapping", 20.0f);
                         w.SetUint32("gemma2.attention.sliding_window", 16);
                       }));
  EXPECT_EQ(g2.head_dim, 32);
  EXPECT_FLOAT_EQ(g2.attention_scale, 1.0f / std::sqrt(32.0f));
  EXPECT_FLOAT_EQ(g2.embedding_scale, 8.0f);  // sqrt(64)
  EXPECT_EQ(g2.attn_softcap, 50.0f);          // the table's default
  EXPECT_EQ(g2.final_softcap, 20.0f);
  EXPECT_EQ(g2.activation, Activation::kGeluTanh);
  EXPECT_TRUE(g2.LayerUsesWindow(0));
  EXPECT_FALSE(g2.LayerUsesWindow(1));
  // The 27B layout (46 layers): scores scale by n_embd / n_heads (64 / 8) instead.
  ASSERT_OK_AND_ASSIGN(ModelConfig g27, ConfigOf("gemma2", [](gguf::GgufWriter& w) {
                         w.SetUint32("gemma2.attention.key_length", 32);
                       }, /*layers=*/46));
  EXPECT_FLOAT_EQ(g27.attention_scale, 1.0f / std::sqrt(8.0f));
  ASSERT_OK_AND_ASSIGN(ModelConfig g3, ConfigOf("gemma3", [](gguf::GgufWriter&) {}));
  EXPECT_EQ(g3.sliding_window, 1024);
  EXPECT_TRUE(g3.LayerUsesWindow(4));
  EXPECT_FALSE(g3.LayerUsesWindow(5));
  EXPECT_EQ(g3.attn_softcap, 0.0f);
  ASSERT_OK_AND_ASSIGN(ModelConfig llama, ConfigOf("llama", [](gguf::GgufWriter&) {}));
  EXPECT_EQ(llama.sliding_window, 0);
  ASSERT_OK_AND_ASSIGN(ModelConfig mistral, ConfigOf("llama", [](gguf::GgufWriter& w) {
                         w.SetUint32("llama.attention.sliding_window", 4096);
                       }));
  EXPECT_EQ(mistral.sliding_window, 4096);
  EXPECT_TRUE(mistral.LayerUsesWindow(1));
}

TEST(ArchTableTest, EveryEntryIsIndexedByItsArchAndFoundByName) {
  for (size_t i = 0; i < AllArchs().size(); ++i) {
    const ArchSpec& spec = AllArchs()[i];
    EXPECT_EQ(static_cast<size_t>(spec.arch), i);
    EXPECT_EQ(FindArch(spec.name), &spec);
    EXPECT_EQ(&ArchSpecOf(spec.arch), &spec);
    EXPECT_FALSE(spec.layer_tensors.empty());
  }
  EXPECT_EQ(FindArch("gpt2"), nullptr);
}

TEST(ModelConfigTest, RejectsBadMetadata) {
  const absl::Status unknown = ConfigOf("gpt2", [](gguf::GgufWriter&) {}).status();
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_NE(unknown.message().find("'gpt2'"), absl::string_view::npos) << unknown;
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
