// Base for the baselines that materialise the whole Nq x Nk score matrix of a (batch, head):
// exact attention under the empty mask (causal and lengths come from VisibleKeys), and one
// score matrix per thread that has a (batch, head) to work on, allocated by the plan. Their
// backward (PyTorch's math path: P recomputed from the log-sum-exp, dP, the softmax backward
// dS = P (dP - rowsum(P dP)), then plain products) holds P and dP, two matrices per thread that
// has a (batch, kv head) group to work on; a group's query heads run in turn on one thread, so
// dK and dV sum without races.
#pragma once
#include <cmath>
#include <string>

#include "masked_softmax_variant.hpp"

namespace attn {

class FullScoresVariant : public MaskedSoftmaxVariant {
 public:
  bool exact() const override { return true; }
  // The float32 baselines, forward and backward.
  bool implemented(DType d, Pass) const override { return d == DType::f32; }
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
  // ... and for the backward (e.g. "f32-naive-bwd-scalar").
  virtual std::string backward_impl_name() const = 0;
  // Output rows of (batch b, head h) into o ([Nq, D]); scores is this thread's Nq x Nk matrix;
  // mods: the score modifiers for this problem (score_mod() applies softcap and ALiBi).
  // lse, if not null, receives each row's log-sum-exp ([Nq], the sink included; -inf for a row
  // that sees nothing or lies past its length).
  virtual void head(const Problem& p, const VisibleKeys& keys, const Tensors& t, int b, int h, float* scores,
                    float* o, float* lse, const ScoreModifiers& mods) const = 0;

  // What one backward call reads besides Q, K, V.
  struct BackwardInputs {
    const float* o;     // the forward's output
    const float* lse;   // its log-sum-exp [B, H, Nq]
    const float* dout;  // dO
  };
  // dK and dV of kv head g of batch item b ([Nk, D] each, overwritten) and dQ of its query heads;
  // p_mat and dp_mat are this thread's two Nq x Nk matrices. Score modifiers have no backward
  // here (modifier_reason turns such problems down; the flash backward has them).
  virtual void group_backward(const Problem& p, const VisibleKeys& keys, const Tensors& t, const BackwardInputs& x,
                              int b, int g, float* p_mat, float* dp_mat, const Gradients& grads) const = 0;

 protected:
  std::string modifier_reason(const Problem& p) const override {
    if (p.pass != Pass::fwd && modifiers().any())
      return "the unfused backward with score modifiers (softcap, alibi, sinks) is not implemented (the flash "
             "variants, e.g. dense, have it)";
    return MaskedSoftmaxVariant::modifier_reason(p);
  }
  // A scaled score of head h, query position pos and key j, with softcap and ALiBi applied.
  static float score_mod(float s, const ScoreModifiers& m, int h, long j, long pos) {
    if (m.softcap != 0.0f) s = m.softcap * std::tanh(s / m.softcap);
    if (m.alibi) s += m.alibi[h] * static_cast<float>(j - pos);
    return s;
  }
};

}  // namespace attn
