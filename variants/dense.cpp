// dense: exact softmax attention on the tiled online-softmax engine. Its mask is empty, so
// the plan holds every key tile (causal drops those above the diagonal).
#include "masked_softmax_variant.hpp"

namespace attn {

namespace {
class Dense final : public MaskedSoftmaxVariant {
 public:
  bool exact() const override { return true; }
  std::unique_ptr<AttentionMask> make_mask(const Problem&) const override { return std::make_unique<AttentionMask>(); }
  Rule rule(const Problem&) const override { return [](int, long, long) { return true; }; }
};
}  // namespace

VariantInfo variant_info_dense() {
  return {"dense", "exact softmax attention: SIMD, tiled, online softmax, O(tile) extra memory", {},
          [](const Options&) -> std::unique_ptr<Variant> { return std::make_unique<Dense>(); },
          true};
}

}  // namespace attn
