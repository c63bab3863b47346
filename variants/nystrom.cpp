// nystrom (Nystromformer, Xiong et al. 2021; LRA Table 2): m landmarks, the segment means of
// Q and K (segment l = rows [l N / m, (l + 1) N / m)), and
//   O = softmax(s Q Kl^T) pinv(softmax(s Ql Kl^T)) softmax(s Ql K^T) V,   s = scale.
// pinv=iterative is the paper's 6-round iteration; pinv=exact a float64 SVD pseudo-inverse, with
// which landmarks = Nk (and Nq >= Nk) is exact attention when the landmark kernel is well
// conditioned. run(): segment means (SIMD), the flash engine for softmax(s Ql K^T) V [m x Nk],
// the m x m landmark kernel, its pseudo-inverse and the mix (kernels/nystrom_landmarks.hpp),
// then the flash engine for softmax(s Q Kl^T) times the mixed values [Nq x m].
// Causal and --lens are refused: every landmark averages positions across the whole sequence.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "errors.hpp"
#include "lra_stages.hpp"
#include "pinv_f64.hpp"

namespace attn {

namespace {

constexpr int kIterations = 6;

class Nystrom final : public Variant {
 public:
  Nystrom(int landmarks, bool exact_pinv) : m_(landmarks), exact_pinv_(exact_pinv) {}
  bool exact() const override { return false; }
  bool mixes_query_rows() const override { return true; }

  std::string shape_reason(const Problem& p) const override {
    if (p.causal) return "causal is not defined for nystrom: each landmark averages queries or keys across the whole sequence";
    if (p.has_lens()) return "--lens is not supported by nystrom: landmark segments span the padded sequence";
    if (m_ > p.Nq || m_ > p.Nk)
      return "landmarks=" + std::to_string(m_) + " needs at least that many queries and keys (Nq=" +
             std::to_string(p.Nq) + ", Nk=" + std::to_string(p.Nk) + ")";
    return "";
  }

  double visible_pairs(const Problem& p) const override { return static_cast<double>(p.B) * p.H * p.Nq * p.Nk; }
  // Per query head: softmax(Ql K^T) V 4 m Nk D, softmax(Q Kl^T) Y 4 Nq m D, the landmark kernel
  // and the mix 2 m^2 D each, the pseudo-inverse (iterative: 4 m^3 products per round; exact:
  // counted as an inversion's 2 m^3); the means D per row of Q and K.
  double flops(const Problem& p) const override {
    const double m = m_, D = p.D;
    const double pinv = exact_pinv_ ? 2 * m * m * m : 8.0 * kIterations * m * m * m;
    const double per_head = 4 * m * p.Nk * D + 4 * p.Nq * m * D + 4 * m * m * D + pinv + p.Nq * D;
    return p.B * (p.H * per_head + static_cast<double>(p.Hkv) * p.Nk * D);
  }
  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const int W = kernel_table(kernel_isa_up_to(isa)).vector_width;
    return own_bytes(p, W, omp_get_max_threads()) + DenseStage::workspace_bytes(landmark_queries(p), isa) +
           DenseStage::workspace_bytes(all_queries(p), isa);
  }
  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override;
  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override;

  // Scores are softmax scores of means of rows (norms at most the rows'); the mixed values are
  // pinv(A) times convex combinations of V: |pinv(A)| <= 2^24 / m (exact's cut-off, sigma_max(A)
  // >= 1 for a row-stochastic A; the 6 iterative rounds stay below it), times m values.
  double intermediate_bound(const Problem& p, const InputMagnitudes& mag) const override {
    return std::max(Variant::intermediate_bound(p, mag), 256.0 * m_ * 0x1p24 * std::max(mag.v_abs, 1.0));
  }

 private:
  friend class NystromPlan;
  // softmax(s Ql K^T) V: m landmark queries over the Nk keys.
  Problem landmark_queries(const Problem& p) const { return DenseStage::derived(p, m_, p.Nk, p.Hkv); }
  // softmax(s Q Kl^T) Y: every query over the m landmark keys, one per query head.
  Problem all_queries(const Problem& p) const { return DenseStage::derived(p, p.Nq, m_, p.H); }
  // Landmarks, the two m-row intermediates, the landmark kernel's per-thread scratch (and the
  // float64 SVD's for pinv=exact).
  std::size_t own_bytes(const Problem& p, int W, int threads) const {
    const std::size_t heads = static_cast<std::size_t>(p.B) * p.H, kv = static_cast<std::size_t>(p.B) * p.Hkv;
    const std::size_t floats = (4 * heads + kv) * m_ * p.D + landmark_scratch_floats(m_, p.D, W) * threads;
    const std::size_t svd = exact_pinv_ ? sizeof(double) * 4 * static_cast<std::size_t>(m_) * m_ * threads : 0;
    return sizeof(float) * floats + svd;
  }
  int m_;
  bool exact_pinv_;
};

class NystromPlan final : public Plan {
 public:
  NystromPlan(const Nystrom& v, const Problem& p, const KernelTable& table, std::unique_ptr<DenseStage> landmark_queries,
              std::unique_ptr<DenseStage> all_queries)
      : Plan(p, landmark_queries->impl() + "+" + lra_kernel_name(v.exact_pinv_ ? "nystrom-pinv-exact" : "nystrom-pinv-iterative", table.isa) + "+" + all_queries->impl(),
             omp_get_max_threads()),
        v_(v),
        table_(table),
        landmark_queries_(std::move(landmark_queries)),
        all_queries_(std::move(all_queries)),
        head_block_(static_cast<std::size_t>(v.m_) * p.D),
        q_landmarks_(p.B * p.H * head_block_),
        k_landmarks_(p.B * p.Hkv * head_block_),
        kernel3_v_(q_landmarks_.size()),
        k_landmarks_per_head_(q_landmarks_.size()),
        mixed_(q_landmarks_.size()) {}

  std::size_t workspace_bytes() const override {
    return v_.own_bytes(problem(), table_.vector_width, threads()) + landmark_queries_->workspace_bytes() +
           all_queries_->workspace_bytes();
  }

  void run(const Tensors& in, const Outputs& out) override {
    const Problem& p = problem();
    const int m = v_.m_;
    table_.segment_means({p.B * p.H, p.Nq, p.D, m, in.q, q_landmarks_.data()});
    table_.segment_means({p.B * p.Hkv, p.Nk, p.D, m, in.k, k_landmarks_.data()});
    landmark_queries_->run({q_landmarks_.data(), in.k, in.v}, kernel3_v_.data());
    LandmarkMixArgs a;
    a.B = p.B, a.H = p.H, a.Hkv = p.Hkv, a.m = m, a.D = p.D;
    a.scale = p.effective_scale();
    a.iterations = kIterations;
    a.exact_pinv = v_.exact_pinv_;
    a.q_landmarks = q_landmarks_.data(), a.k_landmarks = k_landmarks_.data();
    a.kernel3_v = kernel3_v_.data(), a.mixed = mixed_.data();
    a.threads = threads();
    table_.landmark_mix(a);
    // The last stage has one key/value head per query head: copy each head's landmark keys.
    for (long bh = 0; bh < static_cast<long>(p.B) * p.H; ++bh) {
      const long kvh = bh / p.H * p.Hkv + p.kv_head(static_cast<int>(bh % p.H));
      std::memcpy(k_landmarks_per_head_.data() + bh * head_block_, k_landmarks_.data() + kvh * head_block_,
                  sizeof(float) * head_block_);
    }
    all_queries_->run({in.q, k_landmarks_per_head_.data(), mixed_.data()}, out.o);
  }

 private:
  const Nystrom& v_;
  const KernelTable& table_;
  std::unique_ptr<DenseStage> landmark_queries_, all_queries_;
  std::size_t head_block_;
  std::vector<float> q_landmarks_, k_landmarks_, kernel3_v_, k_landmarks_per_head_, mixed_;
};

std::unique_ptr<Plan> Nystrom::plan(const Problem& p, Isa max_isa) const {
  return std::make_unique<NystromPlan>(*this, p, kernel_table(kernel_isa_up_to(max_isa)),
                                       std::make_unique<DenseStage>(landmark_queries(p), max_isa),
                                       std::make_unique<DenseStage>(all_queries(p), max_isa));
}

// softmax(s x . keys_j) over n keys, in float64, into w.
void softmax_scores(const double* x, const double* keys, long n, int D, double s, double* w) {
  double mx = -INFINITY, total = 0;
  for (long j = 0; j < n; ++j) {
    double dot = 0;
    for (int d = 0; d < D; ++d) dot += x[d] * keys[j * D + d];
    w[j] = s * dot;
    mx = std::max(mx, w[j]);
  }
  for (long j = 0; j < n; ++j) total += w[j] = std::exp(w[j] - mx);
  for (long j = 0; j < n; ++j) w[j] /= total;
}

// Segment means of n rows of x in float64: [m][D].
std::vector<double> means(const float* x, long n, int D, int m) {
  std::vector<double> out(static_cast<std::size_t>(m) * D, 0.0);
  for (int l = 0; l < m; ++l) {
    const long r0 = segment_begin(l, n, m), r1 = segment_begin(l + 1, n, m);
    for (long r = r0; r < r1; ++r)
      for (int d = 0; d < D; ++d) out[l * D + d] += x[r * D + d];
    for (int d = 0; d < D; ++d) out[l * D + d] /= static_cast<double>(r1 - r0);
  }
  return out;
}

void Nystrom::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const {
  const int D = p.D, m = m_;
  const long nr = static_cast<long>(rows.size());
  const double s = p.effective_scale();
#pragma omp parallel for schedule(dynamic)
  for (long bh = 0; bh < static_cast<long>(p.B) * p.H; ++bh) {
    const long kvh = bh / p.H * p.Hkv + p.kv_head(static_cast<int>(bh % p.H));
    const float* q = t.q + bh * p.Nq * D;
    const float* v = t.v + kvh * p.Nk * D;
    const auto ql = means(q, p.Nq, D, m), kl = means(t.k + kvh * p.Nk * D, p.Nk, D, m);
    std::vector<double> keys(static_cast<std::size_t>(p.Nk) * D), a(static_cast<std::size_t>(m) * m),
        w(p.Nk), mid(static_cast<std::size_t>(m) * D, 0.0), y(mid.size(), 0.0);
    for (long i = 0; i < static_cast<long>(keys.size()); ++i) keys[i] = t.k[kvh * p.Nk * D + i];
    for (int l = 0; l < m; ++l) {
      softmax_scores(&ql[l * D], kl.data(), m, D, s, &a[l * m]);
      softmax_scores(&ql[l * D], keys.data(), p.Nk, D, s, w.data());
      for (long j = 0; j < p.Nk; ++j)
        for (int d = 0; d < D; ++d) mid[l * D + d] += w[j] * v[j * D + d];
    }
    std::vector<double> z(static_cast<std::size_t>(m) * m);
    if (exact_pinv_)
      pinv_exact(a.data(), m, m, z.data(), m, pinv_rtol_f32(m));
    else
      z = pinv_iterative_f64(a, m, kIterations);
    for (int l = 0; l < m; ++l)
      for (int c = 0; c < m; ++c)
        for (int d = 0; d < D; ++d) y[l * D + d] += z[l * m + c] * mid[c * D + d];
    std::vector<double> x(D), k1(m);
    for (long r = 0; r < nr; ++r) {
      for (int d = 0; d < D; ++d) x[d] = q[rows[r] * D + d];
      softmax_scores(x.data(), kl.data(), m, D, s, k1.data());
      double* o = out + (bh * nr + r) * D;
      std::fill(o, o + D, 0.0);
      for (int l = 0; l < m; ++l)
        for (int d = 0; d < D; ++d) o[d] += k1[l] * y[l * D + d];
    }
  }
}

}  // namespace

VariantInfo variant_info_nystrom() {
  return {"nystrom",
          "Nystromformer: landmarks are segment means of Q and K; softmax(Q Kl^T) pinv(softmax(Ql Kl^T)) "
          "softmax(Ql K^T) V, O(N m)",
          {{"landmarks", "64", "number of landmarks m (segment means); at most Nq and Nk"},
           {"pinv", "iterative", "pseudo-inverse: iterative (the paper's 6 rounds, SIMD) or exact (float64 SVD, scalar)"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            const int m = static_cast<int>(o.get_int("landmarks", 1, 4096));
            return std::make_unique<Nystrom>(m, o.get_choice("pinv", {"iterative", "exact"}) == "exact");
          }};
}

}  // namespace attn
