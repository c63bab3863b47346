#include "full_scores_variant.hpp"

#include <omp.h>

#include <algorithm>

namespace attn {

namespace {
// Threads that get a (batch, head): each holds one score matrix.
int busy_threads(const Problem& p, int threads) { return std::min<long>(threads, static_cast<long>(p.B) * p.H); }
// Threads that get a (batch, kv head) group in the backward: each holds P and dP.
int busy_backward_threads(const Problem& p, int threads) {
  return std::min<long>(threads, static_cast<long>(p.B) * p.Hkv);
}
// Floats of the plan's matrices: the forward's, or the larger of the forward's and the backward's.
std::size_t matrix_floats(const Problem& p, int threads) {
  const std::size_t matrix = static_cast<std::size_t>(p.Nq) * p.Nk;
  const std::size_t fwd = matrix * busy_threads(p, threads);
  return p.pass == Pass::fwd ? fwd : std::max(fwd, 2 * matrix * busy_backward_threads(p, threads));
}

// Records' impl: what the timed call runs (fwdbwd: both, forward first).
std::string plan_name(const FullScoresVariant& v, const Problem& p) {
  if (p.pass == Pass::fwd) return v.impl_name();
  return p.pass == Pass::bwd ? v.backward_impl_name() : v.impl_name() + "+" + v.backward_impl_name();
}

class FullScoresPlan final : public Plan {
 public:
  FullScoresPlan(const FullScoresVariant& v, const Problem& p)
      : Plan(p, plan_name(v, p), omp_get_max_threads()),
        variant_(v),
        mask_(v.make_mask(problem())),
        keys_(problem(), *mask_),
        matrix_(static_cast<std::size_t>(p.Nq) * p.Nk),
        scores_(matrix_floats(p, threads())),
        mods_(v.modifiers(), problem()) {}
  std::size_t workspace_bytes() const override { return scores_.size() * sizeof(float); }
  bool gives_lse() const override { return true; }
  void run(const Tensors& in, const Outputs& out) override {
    const Problem& p = problem();
    const long heads = static_cast<long>(p.B) * p.H;
#pragma omp parallel num_threads(busy_threads(p, threads()))
    {
      float* scores = scores_.data() + matrix_ * omp_get_thread_num();
#pragma omp for schedule(dynamic)
      for (long bh = 0; bh < heads; ++bh)
        variant_.head(p, keys_, in, static_cast<int>(bh / p.H), static_cast<int>(bh % p.H), scores,
                      out.o + bh * p.Nq * p.D, out.lse ? out.lse + bh * p.Nq : nullptr, mods_.view());
    }
  }
  bool gives_backward() const override { return problem().pass != Pass::fwd; }
  void run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                    const Gradients& g) override {
    if (!gives_backward()) return Plan::run_backward(in, o, lse, dout, g);
    const Problem& p = problem();
    const long groups = static_cast<long>(p.B) * p.Hkv;
    const FullScoresVariant::BackwardInputs x{o, lse, dout};
#pragma omp parallel num_threads(busy_backward_threads(p, threads()))
    {
      float* mats = scores_.data() + 2 * matrix_ * omp_get_thread_num();
#pragma omp for schedule(dynamic)
      for (long bg = 0; bg < groups; ++bg)
        variant_.group_backward(p, keys_, in, x, static_cast<int>(bg / p.Hkv), static_cast<int>(bg % p.Hkv), mats,
                                mats + matrix_, g);
    }
  }

 private:
  const FullScoresVariant& variant_;
  std::unique_ptr<AttentionMask> mask_;
  VisibleKeys keys_;
  std::size_t matrix_;
  AlignedBuffer scores_;
  ProblemModifiers mods_;
};
}  // namespace

std::size_t FullScoresVariant::workspace_bytes(const Problem& p, Isa) const {
  return sizeof(float) * matrix_floats(p, omp_get_max_threads());
}

std::unique_ptr<Plan> FullScoresVariant::plan(const Problem& p, Isa) const {
  return std::make_unique<FullScoresPlan>(*this, p);
}

}  // namespace attn
