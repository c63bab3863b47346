// The plan of every mask-defined softmax variant: mask, VisibleKeys and engine workspace built
// once; run() calls the tiled engine. Data-dependent variants (block_topk) subclass it and supply
// the tile plan per call through call_plan().
#pragma once
#include <memory>

#include "aligned_buffer.hpp"
#include "masked_softmax_variant.hpp"
#include "plan.hpp"

namespace attn {

// The engine's implementation for p at most max_isa; UserError when none supports it.
const FlashForwardImpl& flash_impl(const Problem& p, Isa max_isa);

class MaskedSoftmaxPlan : public Plan {
 public:
  // static_plan = false: no BlockPlan is built; the subclass's call_plan() gives one per call.
  MaskedSoftmaxPlan(const MaskedSoftmaxVariant& v, const Problem& p, const FlashForwardImpl& impl,
                    bool static_plan = true);
  std::size_t workspace_bytes() const override;
  bool gives_lse() const override { return true; }
  void run(const Tensors& in, const Outputs& out) override;

 protected:
  // The tile plan for this call (inputs as the engine will read them); default: the static one.
  virtual TilePlanView call_plan(const Tensors&) { return blocks_.view(); }
  const VisibleKeys& keys() const { return keys_; }

 private:
  std::unique_ptr<AttentionMask> mask_;  // refers to problem()
  VisibleKeys keys_;
  BlockPlan blocks_;
  const FlashForwardImpl& impl_;
  AlignedBuffer workspace_;
  AlignedBuffer quantized_;  // int8: Q and K quantised per call
  ProblemModifiers mods_;
};

}  // namespace attn
