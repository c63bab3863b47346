// Base for the baselines that materialise the whole Nq x Nk score matrix of a (batch, head):
// exact attention under the empty mask (causal and lengths come from VisibleKeys), and one
// score matrix per thread that has a (batch, head) to work on.
#pragma once
#include <omp.h>

#include <algorithm>

#include "masked_softmax_variant.hpp"

namespace attn {

class FullScoresVariant : public MaskedSoftmaxVariant {
 public:
  bool exact() const override { return true; }
  std::unique_ptr<AttentionMask> make_mask(const Problem&) const override { return std::make_unique<AttentionMask>(); }
  std::size_t workspace_bytes(const Problem& p, Isa) const override {
    return sizeof(float) * static_cast<std::size_t>(p.Nq) * p.Nk * std::min(omp_get_max_threads(), p.B * p.H);
  }
};

}  // namespace attn
