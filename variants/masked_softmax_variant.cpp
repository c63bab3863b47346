#include "masked_softmax_variant.hpp"

#include "masked_softmax_plan.hpp"

#include <omp.h>

#include <cstring>

#include "errors.hpp"
#include "impl_list.hpp"
#include "precision.hpp"
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

}  // namespace

const FlashForwardImpl& flash_impl(const Problem& p, Isa max_isa) {
  const FlashForwardImpl* impl = select_impl(flash_forward_impls(), p, max_isa);
  if (!impl)
    throw UserError(std::string("no flash implementation supports ") + dtype_name(p.dtype) + " " + pass_name(p.pass) +
                    " up to " + isa_name(max_isa));
  return *impl;
}

MaskedSoftmaxPlan::MaskedSoftmaxPlan(const MaskedSoftmaxVariant& v, const Problem& p, const FlashForwardImpl& impl,
                                     bool static_plan)
    : Plan(p, impl.name, omp_get_max_threads()),
      mask_(v.make_mask(problem())),
      keys_(problem(), *mask_),
      blocks_(static_plan ? build_block_plan(problem(), keys_) : BlockPlan{}),
      impl_(impl),
      workspace_((impl.workspace(problem(), threads()) + sizeof(float) - 1) / sizeof(float)),
      quantized_(p.dtype == DType::int8 ? p.q_elems() + p.kv_elems() : 0),
      mods_(v.modifiers(), problem()) {
  // Touch every page now, so the first timed call does not pay the page faults.
  std::memset(workspace_.data(), 0, workspace_.size() * sizeof(float));
}

std::size_t MaskedSoftmaxPlan::workspace_bytes() const {
  return (workspace_.size() + quantized_.size()) * sizeof(float) + blocks_.begin.size() * sizeof(uint32_t) +
         blocks_.refs.size() * sizeof(TileRef);
}

void MaskedSoftmaxPlan::run(const Tensors& in, const Outputs& out) {
  MaskedAttentionArgs a;
  a.p = &problem();
  a.in = in, a.out = out;
  const DType dtype = problem().dtype;
  if (dtype == DType::int8) {  // per-call work of the algorithm: timed
    float* q = quantized_.data();
    float* k = q + problem().q_elems();
    quantize_qk_int8(problem(), in, q, k);
    a.in.q = q, a.in.k = k;
  }
  a.round_p_bf16 = dtype == DType::bf16 || dtype == DType::int8;
  a.mods = mods_.view();
  a.plan = call_plan(a.in);
  a.mask = &keys_;
  a.workspace = workspace_.data();
  a.threads = threads();
  impl_.run(a);
}

double MaskedSoftmaxVariant::visible_pairs(const Problem& p) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  return count_visible_pairs(p, keys);
}

std::size_t MaskedSoftmaxVariant::workspace_bytes(const Problem& p, Isa isa) const {
  const auto mask = make_mask(p);
  const VisibleKeys keys(p, *mask);
  const std::size_t slots = static_cast<std::size_t>(keys.layout_heads()) * ((p.Nq + kTileQ - 1) / kTileQ) + 1;
  return flash_impl(p, isa).workspace(p, omp_get_max_threads()) + mask_bytes(p) + slots * sizeof(uint32_t) +
         count_plan_tiles(p, keys) * sizeof(TileRef);
}

WorkspaceRange MaskedSoftmaxVariant::workspace_range(const Problem& p, Isa isa) const {
  const double q_tiles = (p.Nq + kTileQ - 1) / kTileQ, k_tiles = (p.Nk + kTileK - 1) / kTileK;
  const double heads = layout_heads(p);
  WorkspaceRange r;
  r.floor = static_cast<double>(flash_impl(p, isa).workspace(p, omp_get_max_threads())) +
            static_cast<double>(mask_bytes(p)) + (heads * q_tiles + 1) * sizeof(uint32_t);
  r.bound = r.floor + heads * q_tiles * k_tiles * sizeof(TileRef);
  return r;
}

std::unique_ptr<Plan> MaskedSoftmaxVariant::plan(const Problem& p, Isa max_isa) const {
  return plan_with(p, flash_impl(p, max_isa));
}

std::unique_ptr<Plan> MaskedSoftmaxVariant::plan_with(const Problem& p, const FlashForwardImpl& impl) const {
  return std::make_unique<MaskedSoftmaxPlan>(*this, p, impl);
}

void MaskedSoftmaxVariant::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows,
                                     double* out) const {
  const auto mask = make_mask(p);
  const ProblemModifiers mods(modifiers(), p);
  reference_softmax(p, t, VisibleKeys(p, *mask), rows, out, &mods.view());
}

std::unique_ptr<KeyPattern> MaskedSoftmaxVariant::key_pattern(const Problem& p) const {
  return std::make_unique<MaskPattern>(*this, p);
}

void MaskedSoftmaxVariant::weights(const Problem& p, const Tensors& t, const std::vector<int>& heads,
                                   const std::vector<long>& rows, float* out) const {
  const ProblemModifiers mods(modifiers(), p);
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
      reference_softmax_weights(p, t, keys, b, h, rows[task % nr], w.data(), &mods.view());
      float* o = out + task * p.Nk;
      for (long j = 0; j < p.Nk; ++j) o[j] = static_cast<float>(w[j]);
    }
  }
}

std::string MaskedSoftmaxVariant::dense_spec() const {
  std::string options;
  if (mods_.alibi) options += "alibi=1";
  if (!mods_.sinks_path.empty()) options += std::string(options.empty() ? "" : ",") + "sinks=" + mods_.sinks_path;
  if (mods_.softcap != 0.0f) {
    // The variant's own canonical text of the value, so both specs read it the same way.
    const std::string own = spec(), key = "softcap=";
    const auto at = own.find(key);
    const std::string value = own.substr(at + key.size(), own.find(',', at) == std::string::npos ? std::string::npos
                                                                                                  : own.find(',', at) - at - key.size());
    options += std::string(options.empty() ? "" : ",") + key + value;
  }
  return options.empty() ? "dense" : "dense:" + options;
}

std::vector<std::string> MaskedSoftmaxVariant::input_files() const {
  if (mods_.sinks_path.empty()) return {};
  return {mods_.sinks_path};
}

double MaskedSoftmaxVariant::intermediate_bound(const Problem& p, const InputMagnitudes& m) const {
  // ALiBi adds at most slope Nk (slopes <= 1/2) in magnitude; softcap only shrinks scores.
  const double base = Variant::intermediate_bound(p, m);
  return mods_.alibi ? base + 2.0 * p.Nk : base;
}

}  // namespace attn
