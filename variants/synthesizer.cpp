// synthesizer (random Synthesizer, Tay et al. 2021; LRA Table 2): attention weights that do not
// depend on the tokens, softmax(R) of one seeded N(0, 1) matrix R [Nq, Nk] shared by every
// head and batch item: O = softmax(R) V; Q and K are not read. Causal keeps keys
// j <= i + Nk - Nq (bottom-right alignment, as every variant); a row that sees no key is 0.
// The plan draws R; run() is the row softmax of R (once per call, block by block, shared by the
// heads) and the products softmax(R) V on small_gemm (kernels/synthesizer_attention.hpp).
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "errors.hpp"
#include "lra_random.hpp"
#include "lra_stages.hpp"

namespace attn {

namespace {

// Keys row i reads: [0, keys_of_row(p, i)).
long keys_of_row(const Problem& p, long i) { return p.causal ? std::clamp<long>(p.position(i) + 1, 0, p.Nk) : p.Nk; }

class Synthesizer final : public Variant {
 public:
  explicit Synthesizer(unsigned seed) : seed_(seed) {}
  bool exact() const override { return false; }

  std::string shape_reason(const Problem& p) const override {
    if (p.has_lens()) return "--lens is not supported by synthesizer: its [Nq, Nk] weights have no per-item lengths";
    return "";
  }
  double visible_pairs(const Problem& p) const override {
    double pairs = 0;
    for (long i = 0; i < p.Nq; ++i) pairs += keys_of_row(p, i);
    return pairs * p.B * p.H;
  }
  // softmax(R) V: 2 D per visible pair (no Q K^T product).
  double flops(const Problem& p) const override { return 2.0 * p.D * visible_pairs(p); }
  // R; per thread a block of softmax(R) rows and of output rows; V padded to whole vectors.
  std::size_t workspace_bytes(const Problem& p, Isa isa) const override {
    const int W = kernel_table(kernel_isa_up_to(isa)).vector_width;
    return sizeof(float) * (static_cast<std::size_t>(p.Nq) * p.Nk + synthesizer_scratch_floats(args(p), W, omp_get_max_threads()));
  }
  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override;
  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override;
  // Outputs are convex combinations of values.
  double intermediate_bound(const Problem& p, const InputMagnitudes& m) const override {
    return std::max(1.0, p.Nk * m.v_abs);
  }
  // softmax(R) rows: the same for every head and batch item.
  bool has_weights() const override { return true; }
  void weights(const Problem& p, const Tensors& t, const std::vector<int>& heads, const std::vector<long>& rows,
               float* out) const override;

 private:
  friend class SynthesizerPlan;
  SynthesizerArgs args(const Problem& p) const {
    SynthesizerArgs a;
    a.B = p.B, a.H = p.H, a.Hkv = p.Hkv, a.Nq = p.Nq, a.Nk = p.Nk, a.D = p.D;
    a.causal = p.causal;
    return a;
  }
  // softmax over the keys row i reads, in float64 ([Nk], zeros past them).
  void weight_row(const Problem& p, const std::vector<float>& r, long i, double* w) const {
    const long n = keys_of_row(p, i);
    double mx = -INFINITY, total = 0;
    for (long j = 0; j < n; ++j) mx = std::max(mx, static_cast<double>(r[i * p.Nk + j]));
    for (long j = 0; j < n; ++j) total += w[j] = std::exp(r[i * p.Nk + j] - mx);
    for (long j = 0; j < p.Nk; ++j) w[j] = j < n ? w[j] / total : 0.0;
  }
  unsigned seed_;
};

class SynthesizerPlan final : public Plan {
 public:
  SynthesizerPlan(const Synthesizer& v, const Problem& p, const KernelTable& table)
      : Plan(p, lra_kernel_name("synthesizer", table.isa), omp_get_max_threads()),
        table_(table),
        args_(v.args(p)),
        r_(synthesizer_weights(p.Nq, p.Nk, v.seed_)),
        scratch_(synthesizer_scratch_floats(args_, table.vector_width, threads())) {
    args_.r = r_.data();
    args_.threads = threads();
    const std::size_t rows = static_cast<std::size_t>(threads()) * kSynthesizerRows;
    args_.weights = scratch_.data();
    args_.out = args_.weights + rows * p.Nk;
    args_.values = args_.out + rows * round_up_to(p.D, table.vector_width);
  }
  std::size_t workspace_bytes() const override { return sizeof(float) * (r_.size() + scratch_.size()); }
  void run(const Tensors& in, const Outputs& out) override {
    SynthesizerArgs a = args_;
    a.v = in.v, a.o = out.o;
    table_.synthesizer_attention(a);
  }

 private:
  const KernelTable& table_;
  SynthesizerArgs args_;
  std::vector<float> r_;
  AlignedBuffer scratch_;
};

std::unique_ptr<Plan> Synthesizer::plan(const Problem& p, Isa max_isa) const {
  return std::make_unique<SynthesizerPlan>(*this, p, kernel_table(kernel_isa_up_to(max_isa)));
}

void Synthesizer::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const {
  const std::vector<float> r = synthesizer_weights(p.Nq, p.Nk, seed_);
  const long nr = static_cast<long>(rows.size());
  const int D = p.D;
#pragma omp parallel
  {
    std::vector<double> w(p.Nk);
#pragma omp for schedule(dynamic)
    for (long task = 0; task < static_cast<long>(p.B) * p.H * nr; ++task) {
      const long bh = task / nr, i = rows[task % nr];
      const float* v = t.v + (bh / p.H * p.Hkv + p.kv_head(static_cast<int>(bh % p.H))) * p.Nk * D;
      weight_row(p, r, i, w.data());
      double* o = out + task * D;
      std::fill(o, o + D, 0.0);
      for (long j = 0; j < p.Nk; ++j)
        for (int d = 0; d < D; ++d) o[d] += w[j] * v[j * D + d];
    }
  }
}

void Synthesizer::weights(const Problem& p, const Tensors&, const std::vector<int>& heads, const std::vector<long>& rows,
                          float* out) const {
  const std::vector<float> r = synthesizer_weights(p.Nq, p.Nk, seed_);
  std::vector<double> w(p.Nk);
  const long nr = static_cast<long>(rows.size());
  for (long task = 0; task < p.B * static_cast<long>(heads.size()) * nr; ++task) {
    weight_row(p, r, rows[task % nr], w.data());
    std::transform(w.begin(), w.end(), out + task * p.Nk, [](double x) { return static_cast<float>(x); });
  }
}

}  // namespace

VariantInfo variant_info_synthesizer() {
  return {"synthesizer",
          "random Synthesizer: O = softmax(R) V with a seeded [Nq, Nk] matrix R shared by all heads; Q, K unused",
          {{"seed", "0", "seed of the random weight matrix R"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            return std::make_unique<Synthesizer>(static_cast<unsigned>(o.get_int("seed", 0, 4294967295L)));
          }};
}

}  // namespace attn
