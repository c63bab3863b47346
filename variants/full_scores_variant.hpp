// Base for the baselines that materialise the whole Nq x Nk score matrix of a (batch, head):
// exact attention under the empty mask (causal and lengths come from VisibleKeys), and one
// score matrix per thread that has a (batch, head) to work on, allocated by the plan.
#pragma once
#include <cmath>
#include <string>

#include "masked_softmax_variant.hpp"

namespace attn {

class FullScoresVariant : public MaskedSoftmaxVariant {
 public:
  bool exact() const override { return true; }
  // The float32 baselines.
  bool implemented(DType d, Pass pass) const override { return d == DType::f32 && pass == Pass::fwd; }
  // Their own scalar or BLAS code runs whatever ISA is asked for.
  bool uses_isa() const override { return false; }
  std::unique_ptr<AttentionMask> make_mask(const Problem&) const override { return std::make_unique<AttentionMask>(); }
  Rule rule(const Problem&) const override { return [](int, long, long) { return true; }; }
  std::size_t workspace_bytes(const Problem& p, Isa) const override;
  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override;
  // Exact in O(1): no tile plan here, only the score matrices.
  WorkspaceRange workspace_range(const Problem& p, Isa isa) const override { return Variant::workspace_range(p, isa); }

  // The implementation name records carry (e.g. "f32-naive-scalar").
  virtual std::string impl_name() const = 0;
  // Output rows of (batch b, head h) into o ([Nq, D]); scores is this thread's Nq x Nk matrix;
  // mods: the score modifiers for this problem (score_mod() applies softcap and ALiBi).
  virtual void head(const Problem& p, const VisibleKeys& keys, const Tensors& t, int b, int h, float* scores,
                    float* o, const ScoreModifiers& mods) const = 0;

 protected:
  // A scaled score of head h, query position pos and key j, with softcap and ALiBi applied.
  static float score_mod(float s, const ScoreModifiers& m, int h, long j, long pos) {
    if (m.softcap != 0.0f) s = m.softcap * std::tanh(s / m.softcap);
    if (m.alibi) s += m.alibi[h] * static_cast<float>(j - pos);
    return s;
  }
};

}  // namespace attn
