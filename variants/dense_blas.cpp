// dense_blas: the unfused implementation a user writes with BLAS, per (batch, head):
// S = scale Q K^T (sgemm), -inf outside the visible keys, row softmax, O = P V (sgemm).
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
// sink: a logit that joins the denominator (-inf: none).
void softmax_row(float* s, long n, long lo, long hi, float sink) {
  if (lo > hi) {
    std::fill(s, s + n, 0.0f);
    return;
  }
  float mx = sink;
  for (long j = lo; j <= hi; ++j) mx = std::max(mx, s[j]);
  float sum = sink == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(sink - mx);
  for (long j = lo; j <= hi; ++j) sum += (s[j] = std::exp(s[j] - mx));
  const float inv = 1.0f / sum;
  std::fill(s, s + lo, 0.0f);
  for (long j = lo; j <= hi; ++j) s[j] *= inv;
  std::fill(s + hi + 1, s + n, 0.0f);
}

class DenseBlas final : public FullScoresVariant {
 public:
  // OpenBLAS picks its own kernels for this CPU, whatever ISA is asked for.
  std::string impl_name() const override { return "f32-sgemm-softmax-sgemm-openblas"; }
  std::unique_ptr<Plan> plan(const Problem& p, Isa isa) const override {
    blas_library().set_num_threads(1);  // loads the library outside the timed call
    return FullScoresVariant::plan(p, isa);
  }
  void head(const Problem& p, const VisibleKeys& keys, const Tensors& t, int b, int h, float* scores, float* o,
            const ScoreModifiers& mods) const override {
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
        softmax_row(scores + i * Nk, nk, r.lo, hi, mods.sinks ? mods.sinks[h] : -std::numeric_limits<float>::infinity());
      }
      blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, 1.0f, scores, Nk, t.v + kv, D, 0.0f, o, D);
      std::fill(o + nq * D, o + Nq * D, 0.0f);
    }
  }
};
}  // namespace

VariantInfo variant_info_dense_blas() {
  return {"dense_blas", "unfused BLAS attention: sgemm, softmax, sgemm (materialises the Nq x Nk scores; OpenBLAS)",
          {}, [](const Options&) -> std::unique_ptr<Variant> { return std::make_unique<DenseBlas>(); },
          true};
}

}  // namespace attn
