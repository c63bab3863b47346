// The plan of every mask-defined softmax variant: mask, VisibleKeys and engine workspace built
// once; run() calls the tiled engine. Data-dependent variants (block_topk) subclass it and supply
// the tile plan per call through call_plan(). For a bwd or fwdbwd problem it also holds the
// block plan transposed (per key tile, the query tiles that visit it) and run_backward() calls
// the flash backward (kernels/flash_backward.hpp); forward and backward share one workspace.
#pragma once
#include <memory>

#include "aligned_buffer.hpp"
#include "key_tile_plan.hpp"
#include "masked_softmax_variant.hpp"
#include "plan.hpp"

namespace attn {

// The engine's implementation for p at most max_isa, chosen for the forward of p (a bwd or
// fwdbwd plan runs it too: fwdbwd in the timed call, bwd for O and the log-sum-exp); UserError
// when none supports it.
const FlashForwardImpl& flash_impl(const Problem& p, Isa max_isa);
// The backward implementation for p (null for a forward-only problem); UserError when none.
const FlashBackwardImpl* flash_backward_impl(const Problem& p, Isa max_isa);

class MaskedSoftmaxPlan : public Plan {
 public:
  // static_plan = false: no BlockPlan is built; the subclass's call_plan() gives one per call.
  // backward: for a bwd or fwdbwd problem, else null (without the static plan the subclass gives
  // the transposed plan per call through call_key_plan()).
  MaskedSoftmaxPlan(const MaskedSoftmaxVariant& v, const Problem& p, const FlashForwardImpl& impl,
                    bool static_plan = true, const FlashBackwardImpl* backward = nullptr);
  std::size_t workspace_bytes() const override;
  bool gives_lse() const override { return true; }
  DType products() const override { return impl_.products; }
  void run(const Tensors& in, const Outputs& out) override;
  // Data-dependent plans (no static block plan): call_plan() is the per-call selection.
  bool selects_per_call() const override { return !static_plan_; }
  void run_selection(const Tensors& in) override;
  bool gives_backward() const override { return backward_ != nullptr; }
  void run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                    const Gradients& g) override;

 protected:
  // The tile plan for this call (inputs as the engine will read them); default: the static one.
  virtual TilePlanView call_plan(const Tensors&) { return blocks_.view(); }
  // The transposed plan for this call's backward; default: the static one.
  virtual KeyTilePlanView call_key_plan(const Tensors&) { return key_plan_.view(); }
  const VisibleKeys& keys() const { return keys_; }

 private:
  bool static_plan_;
  std::unique_ptr<AttentionMask> mask_;  // refers to problem()
  VisibleKeys keys_;
  BlockPlan blocks_;
  KeyTilePlan key_plan_;  // only with a backward
  const FlashForwardImpl& impl_;
  const FlashBackwardImpl* backward_;
  AlignedBuffer workspace_;
  AlignedBuffer quantized_;  // int8: Q and K quantised per call
  ProblemModifiers mods_;
};

}  // namespace attn
