// linformer (Wang et al. 2020, LRA Table 2): keys and values projected along the sequence,
// K' = E K and V' = F V with E, F [k, Nk] seeded Gaussian / sqrt(k), then exact softmax
// attention of Q over the k projected keys: O = softmax(scale Q K'^T) V'.
// The plan draws E and F (outside the timed call); run() is the projections (a SIMD kernel,
// kernels/linformer_projection.hpp) then the flash engine on the [Nq x k] problem.
// Causal and --lens are refused: the projection mixes every key position into every projected key.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "lra_random.hpp"
#include "lra_stages.hpp"

namespace attn {

namespace {

class Linformer final : public Variant {
 public:
  Linformer(int k, unsigned seed) : k_(k), seed_(seed) {}
  bool exact() const override { return false; }

  std::string shape_reason(const Problem& p) const override {
    if (p.causal) return "causal is not defined for linformer: its projection E K mixes every key position into each projected key";
    if (p.has_lens()) return "--lens is not supported by linformer: its [k, Nk] projections have no per-item lengths";
    return "";
  }

  // Every key reaches every query through the projections.
  double visible_pairs(const Problem& p) const override { return static_cast<double>(p.B) * p.H * p.Nq * p.Nk; }
  // Projections 2 x 2 k Nk D per key/value head, then 4 k D per query row and head.
  double flops(const Problem& p) const override {
    return 4.0 * p.B * p.Hkv * k_ * p.Nk * p.D + 4.0 * p.B * p.H * p.Nq * k_ * p.D;
  }
  // E, F, the projected K' and V', the projection kernel's per-thread scratch, the engine's.
  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const int W = kernel_table(kernel_isa_up_to(isa)).vector_width;
    const std::size_t floats = 2 * static_cast<std::size_t>(k_) * p.Nk + 2 * static_cast<std::size_t>(p.B) * p.Hkv * k_ * p.D +
                               projection_scratch_floats(p.D, W) * omp_get_max_threads();
    return sizeof(float) * floats + DenseStage::workspace_bytes(stage_problem(p), isa);
  }
  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override;
  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override;

  // Projected rows: |E k_j| sums at most Nk terms of |e| <= 8 / sqrt(k) times the key norms.
  double intermediate_bound(const Problem& p, const InputMagnitudes& m) const override {
    const double e = kProjectionSigmas / std::sqrt(static_cast<double>(k_)) * p.Nk;
    const double s = std::max(1.0, std::abs(static_cast<double>(p.effective_scale())) * 1.4426950408889634);
    const double scores = s * std::max(m.q_norm, 1.0) * std::max(e * m.k_norm, 1.0);
    return std::max({scores, e * std::max(m.k_norm, 1.0), 256.0 * k_ * e * m.v_abs});
  }

  Problem stage_problem(const Problem& p) const { return DenseStage::derived(p, p.Nq, k_, p.Hkv); }

 private:
  friend class LinformerPlan;
  int k_;
  unsigned seed_;
};

class LinformerPlan final : public Plan {
 public:
  LinformerPlan(const Linformer& v, const Problem& p, const KernelTable& table, std::unique_ptr<DenseStage> stage)
      : Plan(p, lra_kernel_name("linformer-project", table.isa) + "+" + stage->impl(), omp_get_max_threads()),
        table_(table),
        ef_(linformer_projections(v.k_, p.Nk, v.seed_)),
        projected_(2 * static_cast<std::size_t>(p.B) * p.Hkv * v.k_ * p.D),
        stage_(std::move(stage)),
        k_(v.k_) {}
  std::size_t workspace_bytes() const override {
    const std::size_t scratch = projection_scratch_floats(problem().D, table_.vector_width) * threads();
    return sizeof(float) * (ef_.size() + projected_.size() + scratch) + stage_->workspace_bytes();
  }
  void run(const Tensors& in, const Outputs& out) override {
    const Problem& p = problem();
    ProjectionArgs a;
    a.heads = p.B * p.Hkv, a.n = p.Nk, a.D = p.D, a.k = k_;
    a.e = ef_.data(), a.f = ef_.data() + static_cast<std::size_t>(k_) * p.Nk;
    a.keys = in.k, a.values = in.v;
    a.keys_out = projected_.data(), a.values_out = projected_.data() + projected_.size() / 2;
    a.threads = threads();
    table_.linformer_projection(a);
    stage_->run({in.q, a.keys_out, a.values_out}, out.o);
  }

 private:
  const KernelTable& table_;
  std::vector<float> ef_, projected_;
  std::unique_ptr<DenseStage> stage_;
  int k_;
};

std::unique_ptr<Plan> Linformer::plan(const Problem& p, Isa max_isa) const {
  return std::make_unique<LinformerPlan>(*this, p, kernel_table(kernel_isa_up_to(max_isa)),
                                         std::make_unique<DenseStage>(stage_problem(p), max_isa));
}

void Linformer::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const {
  const int D = p.D, k = k_;
  const long nr = static_cast<long>(rows.size());
  const std::vector<float> ef = linformer_projections(k, p.Nk, seed_);
  const float* e = ef.data();
  const float* f = e + static_cast<std::size_t>(k) * p.Nk;
  const double scale = p.effective_scale();
#pragma omp parallel for schedule(dynamic)
  for (long bh = 0; bh < static_cast<long>(p.B) * p.H; ++bh) {
    const long kvh = bh / p.H * p.Hkv + p.kv_head(static_cast<int>(bh % p.H));
    const float* kin = t.k + kvh * p.Nk * D;
    const float* vin = t.v + kvh * p.Nk * D;
    std::vector<double> kp(static_cast<std::size_t>(k) * D, 0.0), vp(kp.size(), 0.0), s(k);
    for (int l = 0; l < k; ++l)
      for (long j = 0; j < p.Nk; ++j)
        for (int d = 0; d < D; ++d) {
          kp[l * D + d] += static_cast<double>(e[l * p.Nk + j]) * kin[j * D + d];
          vp[l * D + d] += static_cast<double>(f[l * p.Nk + j]) * vin[j * D + d];
        }
    for (long r = 0; r < nr; ++r) {
      const float* q = t.q + (bh * p.Nq + rows[r]) * D;
      double mx = -INFINITY, total = 0;
      for (int l = 0; l < k; ++l) {
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += static_cast<double>(q[d]) * kp[l * D + d];
        s[l] = scale * dot;
        mx = std::max(mx, s[l]);
      }
      double* o = out + (bh * nr + r) * D;
      std::fill(o, o + D, 0.0);
      for (int l = 0; l < k; ++l) {
        const double w = std::exp(s[l] - mx);
        total += w;
        for (int d = 0; d < D; ++d) o[d] += w * vp[l * D + d];
      }
      for (int d = 0; d < D; ++d) o[d] /= total;
    }
  }
}

}  // namespace

VariantInfo variant_info_linformer() {
  return {"linformer",
          "Linformer: keys and values projected to k rows by seeded Gaussian E, F [k, Nk], then softmax attention "
          "over them; O(N k)",
          {{"k", "256", "projected length (rows of E and F)"}, {"seed", "0", "seed of the random projections E, F"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            return std::make_unique<Linformer>(static_cast<int>(o.get_int("k", 1, 65536)),
                                               static_cast<unsigned>(o.get_int("seed", 0, 4294967295L)));
          }};
}

}  // namespace attn
