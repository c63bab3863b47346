#include "mass_recall.hpp"

#include "masked_softmax_variant.hpp"

#include <algorithm>

#include "attention_mask.hpp"
#include "reference.hpp"

namespace attn {

MassRecall measure_mass_recall(const Variant& v, const Problem& p, const Tensors& t, const std::vector<long>& rows) {
  const AttentionMask everything;  // dense: the shared rules (causal, lengths) only
  const VisibleKeys dense(p, everything);
  // Dense attention with the variant's own score modifiers (softcap, ALiBi, sinks).
  const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(&v);
  const ProblemModifiers mods(masked ? masked->modifiers() : ModifierOptions{}, p);
  // A data-dependent selection (block_topk, reformer, sinkhorn) has one pattern per batch item,
  // from the inputs.
  const bool per_item = v.data_dependent();
  std::vector<std::unique_ptr<KeyPattern>> patterns;
  for (int b = 0; b < (per_item ? p.B : 1); ++b)
    patterns.push_back(per_item ? v.key_pattern_for(p, t, b) : v.key_pattern(p));
  const long nr = static_cast<long>(rows.size());
  double sum = 0, lowest = 1;
  long counted = 0;
#pragma omp parallel reduction(+ : sum, counted) reduction(min : lowest)
  {
    std::vector<double> w(p.Nk);
    std::vector<uint8_t> seen(p.Nk);
#pragma omp for schedule(dynamic)
    for (long task = 0; task < static_cast<long>(p.B) * p.H * nr; ++task) {
      const int b = static_cast<int>(task / (p.H * nr)), h = static_cast<int>((task / nr) % p.H);
      const long i = rows[task % nr];
      reference_softmax_weights(p, t, dense, b, h, i, w.data(), &mods.view());
      const KeyPattern& pattern = *patterns[per_item ? b : 0];
      pattern.mark_row(pattern.layout_heads() == 1 ? 0 : h, i, seen.data());
      double total = 0, kept = 0;
      for (long j = 0; j < p.Nk; ++j) total += w[j], kept += seen[j] ? w[j] : 0.0;
      if (total <= 0) continue;  // a padded row or one that sees no key
      const double r = std::min(1.0, kept / total);
      sum += r, ++counted, lowest = std::min(lowest, r);
    }
  }
  MassRecall m;
  if (counted > 0) m.mean = sum / counted, m.min = lowest;
  return m;
}

}  // namespace attn
