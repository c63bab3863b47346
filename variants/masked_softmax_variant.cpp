#include "masked_softmax_variant.hpp"

#include "kernel_table.hpp"
#include "reference.hpp"

namespace attn {

namespace {
MaskedAttentionArgs engine_args(const Problem& p, const Tensors& t, float* out) {
  MaskedAttentionArgs a;
  a.B = p.B, a.H = p.H, a.Hkv = p.Hkv, a.Nq = p.Nq, a.Nk = p.Nk, a.D = p.D;
  a.scale = p.effective_scale();
  a.q = t.q, a.k = t.k, a.v = t.v, a.o = out;
  a.lens = p.lens;
  return a;
}
}  // namespace

double MaskedSoftmaxVariant::visible_pairs(const Problem& p) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  return count_visible_pairs(p, keys, build_block_plan(p, keys));
}

std::size_t MaskedSoftmaxVariant::workspace_bytes(const Problem& p, Isa isa) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  const BlockPlan plan = build_block_plan(p, keys);
  return kernel_table(isa).masked_attention_workspace(engine_args(p, Tensors{}, nullptr)) +
         plan.begin.size() * sizeof(uint32_t) + plan.refs.size() * sizeof(TileRef);
}

void MaskedSoftmaxVariant::forward(const Problem& p, const Tensors& t, float* out, Isa isa) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  const BlockPlan plan = build_block_plan(p, keys);
  MaskedAttentionArgs a = engine_args(p, t, out);
  a.plan = plan.view();
  a.mask = &keys;
  kernel_table(isa).masked_attention(a);
}

void MaskedSoftmaxVariant::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows,
                                     double* out) const {
  const auto mask = make_mask(p);
  reference_softmax(p, t, VisibleKeys(p, *mask), rows, out);
}

}  // namespace attn
