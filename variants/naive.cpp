// naive: the textbook baseline. Scalar loops that materialise the full Nq x Nk score matrix
// per head (S = scale Q K^T, mask, row softmax, O = P V), exactly as papers' baselines do.
// Backward, the same textbook way per query head: P = exp(S - lse), dP = dO V^T,
// dS = P (dP - rowsum(P dP)), dQ = scale dS K, dK += scale dS^T Q, dV += P^T dO.
#include <algorithm>
#include <cmath>
#include <limits>

#include "full_scores_variant.hpp"

namespace attn {

namespace {
class Naive final : public FullScoresVariant {
 public:
  std::string impl_name() const override { return "f32-naive-scalar"; }
  std::string backward_impl_name() const override { return "f32-naive-bwd-scalar"; }
  void head(const Problem& p, const VisibleKeys& keys, const Tensors& t, int b, int h, float* scores, float* o,
            float* lse, const ScoreModifiers& mods) const override {
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
        if (lse) lse[i] = sum > 0 ? mx + std::log(sum) : -std::numeric_limits<float>::infinity();
      }
    }
  }

  void group_backward(const Problem& p, const VisibleKeys& keys, const Tensors& t, const BackwardInputs& x, int b,
                      int g, float* pm, float* dpm, const Gradients& grads) const override {
    const long Nq = p.Nq, Nk = p.Nk, D = p.D;
    const float scale = p.effective_scale();
    const long kvoff = (static_cast<long>(b) * p.Hkv + g) * Nk * D;
    const float* k = t.k + kvoff;
    const float* v = t.v + kvoff;
    float* dk = grads.dk + kvoff;
    float* dv = grads.dv + kvoff;
    std::fill(dk, dk + Nk * D, 0.0f);
    std::fill(dv, dv + Nk * D, 0.0f);
    const int group = p.H / p.Hkv;
    for (int hh = 0; hh < group; ++hh) {
      const int h = g * group + hh;
      const long bh = static_cast<long>(b) * p.H + h;
      const float* q = t.q + bh * Nq * D;
      const float* dout = x.dout + bh * Nq * D;
      float* dq = grads.dq + bh * Nq * D;
      for (long i = 0; i < Nq; ++i)
        for (long j = 0; j < Nk; ++j) {
          const bool seen = i < p.valid_q(b) && j < p.valid_k(b) && keys.visible(h, i, j);
          float s = 0, dp = 0;
          for (long d = 0; d < D; ++d) s += q[i * D + d] * k[j * D + d];
          for (long d = 0; d < D; ++d) dp += dout[i * D + d] * v[j * D + d];
          pm[i * Nk + j] = seen ? std::exp(s * scale - x.lse[bh * Nq + i]) : 0.0f;
          dpm[i * Nk + j] = dp;
        }
      for (long i = 0; i < Nq; ++i) {
        float dot = 0;
        for (long j = 0; j < Nk; ++j) dot += pm[i * Nk + j] * dpm[i * Nk + j];
        for (long j = 0; j < Nk; ++j) dpm[i * Nk + j] = pm[i * Nk + j] * (dpm[i * Nk + j] - dot);
      }
      for (long i = 0; i < Nq; ++i)
        for (long d = 0; d < D; ++d) {
          float acc = 0;
          for (long j = 0; j < Nk; ++j) acc += dpm[i * Nk + j] * k[j * D + d];
          dq[i * D + d] = scale * acc;
        }
      for (long j = 0; j < Nk; ++j)
        for (long d = 0; d < D; ++d) {
          float acc_k = 0, acc_v = 0;
          for (long i = 0; i < Nq; ++i) {
            acc_k += dpm[i * Nk + j] * q[i * D + d];
            acc_v += pm[i * Nk + j] * dout[i * D + d];
          }
          dk[j * D + d] += scale * acc_k;
          dv[j * D + d] += acc_v;
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
