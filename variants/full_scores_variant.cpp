#include "full_scores_variant.hpp"

#include <omp.h>

#include <algorithm>

namespace attn {

namespace {
// Threads that get a (batch, head): each holds one score matrix.
int busy_threads(const Problem& p, int threads) { return std::min<long>(threads, static_cast<long>(p.B) * p.H); }

class FullScoresPlan final : public Plan {
 public:
  FullScoresPlan(const FullScoresVariant& v, const Problem& p)
      : Plan(p, v.impl_name(), omp_get_max_threads()),
        variant_(v),
        mask_(v.make_mask(problem())),
        keys_(problem(), *mask_),
        matrix_(static_cast<std::size_t>(p.Nq) * p.Nk),
        scores_(matrix_ * busy_threads(p, threads())),
        mods_(v.modifiers(), problem()) {}
  std::size_t workspace_bytes() const override { return scores_.size() * sizeof(float); }
  void run(const Tensors& in, const Outputs& out) override {
    const Problem& p = problem();
    const long heads = static_cast<long>(p.B) * p.H;
#pragma omp parallel num_threads(busy_threads(p, threads()))
    {
      float* scores = scores_.data() + matrix_ * omp_get_thread_num();
#pragma omp for schedule(dynamic)
      for (long bh = 0; bh < heads; ++bh)
        variant_.head(p, keys_, in, static_cast<int>(bh / p.H), static_cast<int>(bh % p.H), scores,
                      out.o + bh * p.Nq * p.D, mods_.view());
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
  return sizeof(float) * static_cast<std::size_t>(p.Nq) * p.Nk * busy_threads(p, omp_get_max_threads());
}

std::unique_ptr<Plan> FullScoresVariant::plan(const Problem& p, Isa) const {
  return std::make_unique<FullScoresPlan>(*this, p);
}

}  // namespace attn
