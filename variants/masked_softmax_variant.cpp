#include "masked_softmax_variant.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "errors.hpp"
#include "impl_list.hpp"
#include "key_tile_plan.hpp"
#include "reference.hpp"
#include "reference_backward.hpp"

namespace attn {

namespace {
// The mask as a KeyPattern. It owns a copy of the problem because masks may refer to it.
class MaskPattern final : public KeyPattern {
 public:
  MaskPattern(const MaskedSoftmaxVariant& v, const Problem& p)
      : p_(p), mask_(v.make_mask(p_)), keys_(p_, *mask_) {}
  int layout_heads() const override { return keys_.layout_heads(); }
  void mark_row(int h, long i, uint8_t* row) const override { keys_.mark_row(h, i, 0, p_.Nk, row); }

 private:
  Problem p_;
  std::unique_ptr<AttentionMask> mask_;
  VisibleKeys keys_;
};

// The forward implementation for p at most max_isa, chosen for the forward of p (a bwd or fwdbwd
// plan runs it too: fwdbwd inside the timed call, bwd to give O and the log-sum-exp); UserError
// when none supports it.
const FlashForwardImpl& flash_impl(const Problem& p, Isa max_isa) {
  Problem fwd = p;
  fwd.pass = Pass::fwd;
  const FlashForwardImpl* impl = select_impl(flash_forward_impls(), fwd, max_isa);
  if (!impl)
    throw UserError(std::string("no flash implementation supports ") + dtype_name(p.dtype) + " " + pass_name(p.pass) +
                    " up to " + isa_name(max_isa));
  return *impl;
}

// The backward implementation for p (null for a forward-only problem).
const FlashBackwardImpl* flash_backward_impl(const Problem& p, Isa max_isa) {
  if (p.pass == Pass::fwd) return nullptr;
  const FlashBackwardImpl* impl = select_impl(flash_backward_impls(), p, max_isa);
  if (!impl)
    throw UserError(std::string("no flash backward implementation supports ") + dtype_name(p.dtype) + " " +
                    pass_name(p.pass) + " up to " + isa_name(max_isa));
  return impl;
}

// Records' impl: what the timed call runs (fwdbwd: both, forward first).
std::string plan_impl_name(const Problem& p, const FlashForwardImpl& fwd, const FlashBackwardImpl* bwd) {
  if (!bwd) return fwd.name;
  return p.pass == Pass::bwd ? bwd->name : fwd.name + "+" + bwd->name;
}

// The transposed plan's size: one QueryTileRef per tile, one begin per (layout head, key tile).
std::size_t key_plan_bytes(const Problem& p, int layout_heads, double tiles) {
  const std::size_t k_tiles = (p.Nk + kTileK - 1) / kTileK;
  return (layout_heads * k_tiles + 1) * sizeof(uint32_t) + static_cast<std::size_t>(tiles) * sizeof(QueryTileRef);
}

class MaskedSoftmaxPlan final : public Plan {
 public:
  MaskedSoftmaxPlan(const MaskedSoftmaxVariant& v, const Problem& p, const FlashForwardImpl& impl,
                    const FlashBackwardImpl* backward)
      : Plan(p, plan_impl_name(p, impl, backward), omp_get_max_threads()),
        mask_(v.make_mask(problem())),
        keys_(problem(), *mask_),
        blocks_(build_block_plan(problem(), keys_)),
        impl_(impl),
        backward_(backward) {
    // The forward and the backward never run at once: one buffer of the larger size.
    std::size_t bytes = impl.workspace(problem(), threads());
    if (backward_) {
      key_plan_ = transpose_block_plan(blocks_);
      bytes = std::max(bytes, backward_->workspace(problem(), threads()));
    }
    workspace_.resize((bytes + sizeof(float) - 1) / sizeof(float));
    // Touch every page now, so the first timed call does not pay the page faults.
    std::memset(workspace_.data(), 0, workspace_.size() * sizeof(float));
  }
  std::size_t workspace_bytes() const override {
    return workspace_.size() * sizeof(float) + blocks_.begin.size() * sizeof(uint32_t) +
           blocks_.refs.size() * sizeof(TileRef) + key_plan_.begin.size() * sizeof(uint32_t) +
           key_plan_.refs.size() * sizeof(QueryTileRef);
  }
  bool gives_lse() const override { return true; }
  void run(const Tensors& in, const Outputs& out) override {
    MaskedAttentionArgs a;
    a.p = &problem();
    a.in = in, a.out = out;
    a.plan = blocks_.view();
    a.mask = &keys_;
    a.workspace = workspace_.data();
    a.threads = threads();
    impl_.run(a);
  }
  bool gives_backward() const override { return backward_ != nullptr; }
  void run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                    const Gradients& g) override {
    if (!backward_) return Plan::run_backward(in, o, lse, dout, g);
    FlashBackwardArgs a;
    a.p = &problem();
    a.in = in, a.o = o, a.lse = lse, a.dout = dout, a.grads = g;
    a.plan = key_plan_.view();
    a.mask = &keys_;
    a.workspace = workspace_.data();
    a.threads = threads();
    backward_->run(a);
  }

 private:
  std::unique_ptr<AttentionMask> mask_;  // refers to problem()
  VisibleKeys keys_;
  BlockPlan blocks_;
  KeyTilePlan key_plan_;  // only with a backward
  const FlashForwardImpl& impl_;
  const FlashBackwardImpl* backward_;
  AlignedBuffer workspace_;
};
}  // namespace

double MaskedSoftmaxVariant::visible_pairs(const Problem& p) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  return count_visible_pairs(p, keys);
}

std::size_t MaskedSoftmaxVariant::workspace_bytes(const Problem& p, Isa isa) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  const std::size_t slots = static_cast<std::size_t>(keys.layout_heads()) * ((p.Nq + kTileQ - 1) / kTileQ) + 1;
  const std::size_t tiles = count_plan_tiles(p, keys);
  return engine_bytes(p, isa) + mask_bytes(p) + slots * sizeof(uint32_t) + tiles * sizeof(TileRef) +
         (p.pass == Pass::fwd ? 0 : key_plan_bytes(p, keys.layout_heads(), static_cast<double>(tiles)));
}

WorkspaceRange MaskedSoftmaxVariant::workspace_range(const Problem& p, Isa isa) const {
  const double q_tiles = (p.Nq + kTileQ - 1) / kTileQ, k_tiles = (p.Nk + kTileK - 1) / kTileK;
  const double heads = layout_heads(p);
  WorkspaceRange r;
  r.floor = static_cast<double>(engine_bytes(p, isa)) + static_cast<double>(mask_bytes(p)) +
            (heads * q_tiles + 1) * sizeof(uint32_t);
  const double tiles = heads * q_tiles * k_tiles;
  r.bound = r.floor + tiles * sizeof(TileRef);
  if (p.pass != Pass::fwd) {
    r.floor += static_cast<double>(key_plan_bytes(p, static_cast<int>(heads), 0));
    r.bound += static_cast<double>(key_plan_bytes(p, static_cast<int>(heads), tiles));
  }
  return r;
}

std::size_t MaskedSoftmaxVariant::engine_bytes(const Problem& p, Isa isa) const {
  const int threads = omp_get_max_threads();
  const std::size_t fwd = flash_impl(p, isa).workspace(p, threads);
  const FlashBackwardImpl* bwd = flash_backward_impl(p, isa);
  return bwd ? std::max(fwd, bwd->workspace(p, threads)) : fwd;
}

std::unique_ptr<Plan> MaskedSoftmaxVariant::plan(const Problem& p, Isa max_isa) const {
  return plan_with(p, flash_impl(p, max_isa), flash_backward_impl(p, max_isa));
}

std::unique_ptr<Plan> MaskedSoftmaxVariant::plan_with(const Problem& p, const FlashForwardImpl& impl,
                                                      const FlashBackwardImpl* backward) const {
  if ((p.pass != Pass::fwd) != (backward != nullptr))
    throw std::logic_error("plan_with: a backward implementation goes with a bwd or fwdbwd problem, and only there");
  return std::make_unique<MaskedSoftmaxPlan>(*this, p, impl, backward);
}

void MaskedSoftmaxVariant::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows,
                                     double* out) const {
  const auto mask = make_mask(p);
  reference_softmax(p, t, VisibleKeys(p, *mask), rows, out);
}

void MaskedSoftmaxVariant::reference_backward(const Problem& p, const Tensors& t, const float* dout,
                                              const std::vector<long>& groups, const GradientsF64& out) const {
  const auto mask = make_mask(p);
  reference_softmax_backward(p, t, VisibleKeys(p, *mask), dout, groups, out);
}

std::unique_ptr<KeyPattern> MaskedSoftmaxVariant::key_pattern(const Problem& p) const {
  return std::make_unique<MaskPattern>(*this, p);
}

void MaskedSoftmaxVariant::weights(const Problem& p, const Tensors& t, const std::vector<int>& heads,
                                   const std::vector<long>& rows, float* out) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  const long nh = static_cast<long>(heads.size()), nr = static_cast<long>(rows.size());
#pragma omp parallel
  {
    std::vector<double> w(p.Nk);
#pragma omp for schedule(dynamic)
    for (long task = 0; task < p.B * nh * nr; ++task) {
      const int b = static_cast<int>(task / (nh * nr));
      const int h = heads[(task / nr) % nh];
      reference_softmax_weights(p, t, keys, b, h, rows[task % nr], w.data());
      float* o = out + task * p.Nk;
      for (long j = 0; j < p.Nk; ++j) o[j] = static_cast<float>(w[j]);
    }
  }
}

}  // namespace attn
