#include "masked_softmax_variant.hpp"

#include "kernel_table.hpp"
#include "reference.hpp"

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
  return count_visible_pairs(p, keys);
}

std::size_t MaskedSoftmaxVariant::workspace_bytes(const Problem& p, Isa isa) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  const std::size_t slots = static_cast<std::size_t>(keys.layout_heads()) * ((p.Nq + kTileQ - 1) / kTileQ) + 1;
  return kernel_table(isa).masked_attention_workspace(engine_args(p, Tensors{}, nullptr)) + mask_bytes(p) +
         slots * sizeof(uint32_t) + count_plan_tiles(p, keys) * sizeof(TileRef);
}

WorkspaceRange MaskedSoftmaxVariant::workspace_range(const Problem& p, Isa isa) const {
  const double q_tiles = (p.Nq + kTileQ - 1) / kTileQ, k_tiles = (p.Nk + kTileK - 1) / kTileK;
  const double heads = layout_heads(p);
  WorkspaceRange r;
  r.floor = static_cast<double>(kernel_table(isa).masked_attention_workspace(engine_args(p, Tensors{}, nullptr))) +
            static_cast<double>(mask_bytes(p)) + (heads * q_tiles + 1) * sizeof(uint32_t);
  r.bound = r.floor + heads * q_tiles * k_tiles * sizeof(TileRef);
  return r;
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
