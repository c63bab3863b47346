// naive: the textbook baseline. Scalar loops that materialise the full Nq x Nk score matrix
// per head (S = scale Q K^T, mask, row softmax, O = P V), exactly as papers' baselines do.
#include <algorithm>
#include <cmath>
#include <limits>

#include "full_scores_variant.hpp"

namespace attn {

namespace {
class Naive final : public FullScoresVariant {
 public:
  std::string impl_name() const override { return "f32-naive-scalar"; }
  void head(const Problem& p, const VisibleKeys& keys, const Tensors& t, int b, int h, float* scores, float* o,
            const ScoreModifiers& mods) const override {
    const long Nq = p.Nq, Nk = p.Nk, D = p.D;
    const float scale = p.effective_scale();
    {
      const long bh = static_cast<long>(b) * p.H + h;
      const float* q = t.q + bh * Nq * D;
      const float* k = t.k + (static_cast<long>(b) * p.Hkv + p.kv_head(h)) * Nk * D;
      const float* v = t.v + (static_cast<long>(b) * p.Hkv + p.kv_head(h)) * Nk * D;
      for (long i = 0; i < Nq; ++i)
        for (long j = 0; j < Nk; ++j) {
          float s = 0;
          for (long d = 0; d < D; ++d) s += q[i * D + d] * k[j * D + d];
          const bool seen = i < p.valid_q(b) && j < p.valid_k(b) && keys.visible(h, i, j);
          scores[i * Nk + j] =
              seen ? score_mod(s * scale, mods, h, j, p.position(i)) : -std::numeric_limits<float>::infinity();
        }
      for (long i = 0; i < Nq; ++i) {
        float* row = &scores[i * Nk];
        // A learned sink joins the denominator (and the max, so a row with no key divides by it).
        const float sink = mods.sinks ? mods.sinks[h] : -std::numeric_limits<float>::infinity();
        const float mx = std::max(*std::max_element(row, row + Nk), sink);
        float sum = mx == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(sink - mx);
        for (long j = 0; j < Nk; ++j) {
          row[j] = mx == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(row[j] - mx);
          sum += row[j];
        }
        for (long d = 0; d < D; ++d) {
          float acc = 0;
          for (long j = 0; j < Nk; ++j) acc += row[j] * v[j * D + d];
          o[i * D + d] = sum > 0 ? acc / sum : 0.0f;
        }
      }
    }
  }
};
}  // namespace

VariantInfo variant_info_naive() {
  return {"naive", "textbook scalar attention that materialises the Nq x Nk scores (baseline)", {},
          [](const Options&) -> std::unique_ptr<Variant> { return std::make_unique<Naive>(); },
          true};
}

}  // namespace attn
