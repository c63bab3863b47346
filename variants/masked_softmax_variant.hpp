// Base class for every softmax variant defined by a mask: forward runs the tiled engine on the
// mask's block plan, the reference applies the same mask in float64. A new variant only
// supplies make_mask() (see README, "Adding a variant").
#pragma once
#include <functional>
#include <memory>

#include "attention_mask.hpp"
#include "impl_list.hpp"
#include "score_mods.hpp"
#include "variant.hpp"

namespace attn {

class MaskedSoftmaxVariant : public Variant {
 public:
  // The mask for this problem (it may keep a reference to p).
  virtual std::unique_ptr<AttentionMask> make_mask(const Problem& p) const = 0;
  // The variant's visibility rule written plainly, element by element, from its definition and
  // without the mask machinery (key ranges, holes, tile classes): may query row i of head h see
  // key j? Causal and lengths are not part of it (the tests apply them). The registry-wide
  // test (tests/test_variant_rules.cpp) checks every plan, mask and engine against it.
  using Rule = std::function<bool(int h, long i, long j)>;
  virtual Rule rule(const Problem& p) const = 0;
  // data_dependent() (Variant) for a softmax variant: rule() is then empty and the plan selects
  // tiles inside run(); tests check such variants on their own.
  // What make_mask(p) allocates (a generated block layout), and make_mask(p)->layout_heads(),
  // both known in O(1) without building the mask: they size the workspace bounds.
  virtual std::size_t mask_bytes(const Problem&) const { return 0; }
  virtual int layout_heads(const Problem&) const { return 1; }

  bool exact() const override { return false; }
  // Score modifiers from the spec (registry.cpp reads them for every softmax variant).
  void set_modifiers(ModifierOptions m) { mods_ = std::move(m); }
  const ModifierOptions& modifiers() const { return mods_; }
  std::string dense_spec() const override;
  std::vector<std::string> input_files() const override;
  double intermediate_bound(const Problem& p, const InputMagnitudes& m) const override;
  // Every storage precision forward (variants/precision.hpp); float32 backward and forward +
  // backward (kernels/flash_backward.hpp).
  bool implemented(DType d, Pass pass) const override { return pass == Pass::fwd || d == DType::f32; }
  double visible_pairs(const Problem& p) const override;
  // The engine's buffers, the mask and the tile plan; counting the plan's tiles allocates nothing.
  std::size_t workspace_bytes(const Problem& p, Isa isa) const override;
  // The block plan, the element mask and the engine's workspace, built once; run() packs K and
  // runs the tiled engine (see kernels/impl_list.hpp for the implementations).
  std::unique_ptr<Plan> plan(const Problem& p, Isa max_isa) const override;
  // The plan on one given implementation (tests run every implementation that supports p).
  virtual std::unique_ptr<Plan> plan_with(const Problem& p, const FlashForwardImpl& impl) const;
  // The same for a problem whose pass is bwd or fwdbwd: the forward and the backward given.
  std::unique_ptr<Plan> plan_backward_with(const Problem& p, const FlashForwardImpl& impl,
                                           const FlashBackwardImpl& backward) const;
  // The plan holds at most layout_heads x q_tiles x k_tiles tiles.
  WorkspaceRange workspace_range(const Problem& p, Isa isa) const override;
  void reference(const Problem& p, const Tensors& t, const std::vector<long>& rows, double* out) const override;
  // The float64 gradients under the same mask (variants/reference_backward.hpp).
  void reference_backward(const Problem& p, const Tensors& t, const float* dout, const std::vector<long>& groups,
                          const GradientsF64& out) const override;
  std::unique_ptr<KeyPattern> key_pattern(const Problem& p) const override;
  bool has_weights() const override { return true; }
  void weights(const Problem& p, const Tensors& t, const std::vector<int>& heads, const std::vector<long>& rows,
               float* out) const override;
 protected:
  std::string modifier_reason(const Problem& p) const override;

 private:
  // The engine's buffer: the forward's, or the larger of the forward's and the backward's.
  std::size_t engine_bytes(const Problem& p, Isa isa) const;
  ModifierOptions mods_;
};

}  // namespace attn
