// Base for the baselines that materialise the whole Nq x Nk score matrix of a (batch, head):
// exact attention under the empty mask (causal and lengths come from VisibleKeys), and one
// score matrix per thread that has a (batch, head) to work on.
#pragma once
#include <omp.h>

#include <algorithm>
#include <vector>

#include "masked_softmax_variant.hpp"

namespace attn {

class FullScoresVariant : public MaskedSoftmaxVariant {
 public:
  bool exact() const override { return true; }
  std::unique_ptr<AttentionMask> make_mask(const Problem&) const override { return std::make_unique<AttentionMask>(); }
  std::size_t workspace_bytes(const Problem& p, Isa) const override {
    return sizeof(float) * static_cast<std::size_t>(p.Nq) * p.Nk * std::min(omp_get_max_threads(), p.B * p.H);
  }
  // Exact in O(1): no tile plan here, only the score matrices.
  WorkspaceRange workspace_range(const Problem& p, Isa isa) const override { return Variant::workspace_range(p, isa); }

 protected:
  // Calls per_head(b, h, scores) for every (batch, head), spread over OpenMP threads; scores is
  // the calling thread's Nq x Nk matrix (what workspace_bytes counts).
  template <class PerHead>
  static void for_each_head(const Problem& p, const PerHead& per_head) {
#pragma omp parallel
    {
      std::vector<float> scores(static_cast<std::size_t>(p.Nq) * p.Nk);
#pragma omp for schedule(dynamic)
      for (long bh = 0; bh < static_cast<long>(p.B) * p.H; ++bh)
        per_head(static_cast<int>(bh / p.H), static_cast<int>(bh % p.H), scores.data());
    }
  }
};

}  // namespace attn
