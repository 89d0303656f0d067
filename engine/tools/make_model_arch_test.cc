// make_model writes a model of every architecture of the table (with the architecture's own
// features switched on); each loads and its forward pass equals the plain double reference
// transformer of engine/model/testing.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_matchers.h"
#include "engine/model/arch_table.h"
#include "engine/model/model.h"
#include "engine/model/testing/reference_forward.h"
#include "gtest/gtest.h"

namespace baton::engine {
namespace {

struct ArchFlags {
  ModelArch arch;
  std::vector<std::string> flags;  // besides the shared small shape
  double tolerance = 2e-4;
};

std::vector<ArchFlags> Cases() {
  return {
      {ModelArch::kLlama, {"--rope_freqs", "--rope_base=500000"}},
      {ModelArch::kQwen2, {"--rope_scaling=yarn", "--rope_scaling_factor=4",
                           "--rope_orig_context=32"}},
      {ModelArch::kQwen3, {}},
      // f16-rounded GELU amplifies last-bit differences, hence the wider bound.
      {ModelArch::kGemma2, {"--head_dim=32", "--attn_softcap=1.5", "--final_softcap=3",
                            "--sliding_window=4"}, 2e-3},
      {ModelArch::kGemma3, {"--n_layers=6", "--sliding_window=4", "--rope_base=1000000"}, 2e-3},
      {ModelArch::kPhi3, {"--long_rope_factors", "--rope_orig_context=256",
                          "--sliding_window=5"}},
  };
}

std::string Runfile(const std::string& relative) {
  const char* dir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/baton/", relative);
}

class MakeModelArchTest : public ::testing::TestWithParam<ArchFlags> {};

TEST_P(MakeModelArchTest, ForwardMatchesReference) {
  const ArchFlags& af = GetParam();
  const std::string name = ModelArchName(af.arch);
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string out = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name, ".gguf");
  std::vector<std::string> argv = {
      Runfile("engine/tools/make_model"), "--arch=" + name, "--shape=custom", "--n_embd=64",
      "--n_heads=4", "--n_kv_heads=2", "--n_ff=96", "--vocab=300", "--context=512",
      "--weight_std=0.2", "--seed=3", "--out=" + out};
  if (absl::c_none_of(af.flags, [](const std::string& f) { return f.rfind("--n_layers", 0) == 0; })) {
    argv.push_back("--n_layers=2");
  }
  argv.insert(argv.end(), af.flags.begin(), af.flags.end());
  const std::string command = absl::StrJoin(argv, " ") + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Model> model, Model::Load(out));
  ASSERT_EQ(model->config().arch, af.arch);
  testing::ExpectForwardMatchesReference(model, af.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Archs, MakeModelArchTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return ModelArchName(info.param.arch); });

}  // namespace
}  // namespace baton::engine
