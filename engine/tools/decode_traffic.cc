#include "engine/tools/decode_traffic.h"

namespace baton::engine::tools {
namespace {

int64_t Bytes(const WeightMatrix& w) {
  return w.data == nullptr ? 0 : static_cast<int64_t>(w.row_bytes()) * w.rows;
}

}  // namespace

int64_t DecodeWeightBytesPerToken(const Model& model) {
  int64_t total = Bytes(model.output()) + static_cast<int64_t>(model.token_embd().row_bytes());
  for (int32_t l = 0; l < model.config().n_layers; ++l) {
    const LayerWeights& w = model.layer(l);
    for (const WeightMatrix* m : {&w.wq, &w.wk, &w.wv, &w.wqkv, &w.wo, &w.ffn_gate, &w.ffn_up,
                                  &w.ffn_gate_up, &w.ffn_down}) {
      total += Bytes(*m);
    }
  }
  return total;
}

}  // namespace baton::engine::tools
