// dense_blas: the unfused implementation a user writes with BLAS, per (batch, head):
// S = scale Q K^T (sgemm), -inf outside the visible keys, row softmax, O = P V (sgemm).
// Backward, per (batch, kv head) and then per query head of its group, as PyTorch's math path:
// P = exp(scale Q K^T - lse) (sgemm), dV += P^T dO, dP = dO V^T, dS = P (dP - rowsum(P dP)),
// dQ = scale dS K, dK += scale dS^T Q (four more sgemm).
// BLAS runs single-threaded inside; OpenMP parallelises over (batch, head), as a user would.
// The N x N score matrix per thread is exactly the memory cost fused kernels avoid.
#include <algorithm>
#include <cmath>
#include <limits>

#include "blas_library.hpp"
#include "full_scores_variant.hpp"

namespace attn {

namespace {
// Row softmax over s[0, n) in place, keys outside [lo, hi] get probability 0; all-zero if none.
// sink: a logit that joins the denominator (-inf: none). Returns the row's log-sum-exp.
float softmax_row(float* s, long n, long lo, long hi, float sink) {
  if (lo > hi) {
    std::fill(s, s + n, 0.0f);
    return sink;
  }
  float mx = sink;
  for (long j = lo; j <= hi; ++j) mx = std::max(mx, s[j]);
  float sum = sink == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(sink - mx);
  for (long j = lo; j <= hi; ++j) sum += (s[j] = std::exp(s[j] - mx));
  const float inv = 1.0f / sum;
  std::fill(s, s + lo, 0.0f);
  for (long j = lo; j <= hi; ++j) s[j] *= inv;
  std::fill(s + hi + 1, s + n, 0.0f);
  return mx + std::log(sum);
}

// P = exp(s - lse) over keys [lo, hi] of a row of scaled scores, 0 elsewhere (and everywhere
// when the row sees no key).
void probabilities_row(float* s, long n, long lo, long hi, float lse) {
  if (lo > hi) {
    std::fill(s, s + n, 0.0f);
    return;
  }
  std::fill(s, s + lo, 0.0f);
  for (long j = lo; j <= hi; ++j) s[j] = std::exp(s[j] - lse);
  std::fill(s + hi + 1, s + n, 0.0f);
}

// The softmax backward of one row: dp becomes dS = P (dP - sum_j P_j dP_j).
void softmax_backward_row(const float* p, float* dp, long n) {
  float dot = 0;
  for (long j = 0; j < n; ++j) dot += p[j] * dp[j];
  for (long j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - dot);
}


class DenseBlas final : public FullScoresVariant {
 public:
  // OpenBLAS picks its own kernels for this CPU, whatever ISA is asked for.
  std::string impl_name() const override { return "f32-sgemm-softmax-sgemm-openblas"; }
  std::string backward_impl_name() const override { return "f32-sgemm-softmax-bwd-openblas"; }
  std::unique_ptr<Plan> plan(const Problem& p, Isa isa) const override {
    blas_library().set_num_threads(1);  // loads the library outside the timed call
    return FullScoresVariant::plan(p, isa);
  }
  void head(const Problem& p, const VisibleKeys& keys, const Tensors& t, int b, int h, float* scores, float* o,
            float* lse, const ScoreModifiers& mods) const override {
    const BlasLibrary& blas = blas_library();
    const long Nq = p.Nq, Nk = p.Nk, D = p.D;
    const float scale = p.effective_scale();
    {
      const long bh = static_cast<long>(b) * p.H + h;
      const long kv = (static_cast<long>(b) * p.Hkv + p.kv_head(h)) * Nk * D;
      const long nq = p.valid_q(b), nk = p.valid_k(b);  // --lens: only the leading block is used
      blas.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, D, scale, t.q + bh * Nq * D, D, t.k + kv, D, 0.0f,
                 scores, Nk);
      for (long i = 0; i < nq; ++i) {
        const KeyRange r = keys.range(i);
        const long hi = std::min(r.hi, nk - 1);
        if (mods.softcap != 0.0f || mods.alibi)
          for (long j = r.lo; j <= hi; ++j)
            scores[i * Nk + j] = score_mod(scores[i * Nk + j], mods, h, j, p.position(i));
        const float l =
            softmax_row(scores + i * Nk, nk, r.lo, hi, mods.sinks ? mods.sinks[h] : -std::numeric_limits<float>::infinity());
        if (lse) lse[i] = l;
      }
      if (lse) std::fill(lse + nq, lse + Nq, -std::numeric_limits<float>::infinity());
      blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, 1.0f, scores, Nk, t.v + kv, D, 0.0f, o, D);
      std::fill(o + nq * D, o + Nq * D, 0.0f);
    }
  }

  void group_backward(const Problem& p, const VisibleKeys& keys, const Tensors& t, const BackwardInputs& x, int b,
                      int g, float* pm, float* dpm, const Gradients& grads) const override {
    const BlasLibrary& blas = blas_library();
    const long Nq = p.Nq, Nk = p.Nk, D = p.D;
    const float scale = p.effective_scale();
    const long kv = (static_cast<long>(b) * p.Hkv + g) * Nk * D;
    const long nq = p.valid_q(b), nk = p.valid_k(b);  // --lens: only the leading block is used
    const int group = p.H / p.Hkv;
    for (int hh = 0; hh < group; ++hh) {
      const long bh = static_cast<long>(b) * p.H + static_cast<long>(g) * group + hh;
      const float* q = t.q + bh * Nq * D;
      const float* dout = x.dout + bh * Nq * D;
      const float beta = hh == 0 ? 0.0f : 1.0f;  // the group's heads sum into dK and dV
      blas.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, D, scale, q, D, t.k + kv, D, 0.0f, pm, Nk);
      for (long i = 0; i < nq; ++i) {
        const KeyRange r = keys.range(i);
        probabilities_row(pm + i * Nk, nk, r.lo, std::min(r.hi, nk - 1), x.lse[bh * Nq + i]);
      }
      blas.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, nq, 1.0f, pm, Nk, dout, D, beta, grads.dv + kv, D);
      blas.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, D, 1.0f, dout, D, t.v + kv, D, 0.0f, dpm, Nk);
      for (long i = 0; i < nq; ++i) softmax_backward_row(pm + i * Nk, dpm + i * Nk, nk);
      float* dq = grads.dq + bh * Nq * D;
      blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, scale, dpm, Nk, t.k + kv, D, 0.0f, dq, D);
      std::fill(dq + nq * D, dq + Nq * D, 0.0f);
      blas.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, nq, scale, dpm, Nk, q, D, beta, grads.dk + kv, D);
    }
    std::fill(grads.dk + kv + nk * D, grads.dk + kv + Nk * D, 0.0f);
    std::fill(grads.dv + kv + nk * D, grads.dv + kv + Nk * D, 0.0f);
  }
};
}  // namespace

VariantInfo variant_info_dense_blas() {
  return {"dense_blas", "unfused BLAS attention: sgemm, softmax, sgemm (materialises the Nq x Nk scores; OpenBLAS)",
          {}, [](const Options&) -> std::unique_ptr<Variant> { return std::make_unique<DenseBlas>(); },
          true};
}

}  // namespace attn
