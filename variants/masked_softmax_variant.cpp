#include "masked_softmax_variant.hpp"

#include "masked_softmax_plan.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "errors.hpp"
#include "impl_list.hpp"
#include "kv_cache.hpp"
#include "precision.hpp"
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

}  // namespace

const FlashForwardImpl& flash_impl(const Problem& p, Isa max_isa) {
  Problem fwd = p;
  fwd.pass = Pass::fwd;
  const FlashForwardImpl* impl = select_impl(flash_forward_impls(), fwd, max_isa);
  if (!impl)
    throw UserError(std::string("no flash implementation supports ") + dtype_name(p.dtype) + " " + pass_name(p.pass) +
                    " up to " + isa_name(max_isa));
  return *impl;
}

const FlashBackwardImpl* flash_backward_impl(const Problem& p, Isa max_isa) {
  if (p.pass == Pass::fwd) return nullptr;
  const FlashBackwardImpl* impl = select_impl(flash_backward_impls(), p, max_isa);
  if (!impl)
    throw UserError(std::string("no flash backward implementation supports ") + dtype_name(p.dtype) + " " +
                    pass_name(p.pass) + " up to " + isa_name(max_isa));
  return impl;
}

namespace {
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

// The forward and the backward never run at once: one buffer of the larger size.
std::size_t plan_engine_bytes(const Problem& p, int threads, const FlashForwardImpl& fwd,
                              const FlashBackwardImpl* bwd) {
  const std::size_t f = fwd.workspace(p, threads);
  return bwd ? std::max(f, bwd->workspace(p, threads)) : f;
}
}  // namespace

MaskedSoftmaxPlan::MaskedSoftmaxPlan(const MaskedSoftmaxVariant& v, const Problem& p, const FlashForwardImpl& impl,
                                     bool static_plan, const FlashBackwardImpl* backward)
    : Plan(p, plan_impl_name(p, impl, backward), omp_get_max_threads()),
      static_plan_(static_plan),
      mask_(v.make_mask(problem())),
      keys_(problem(), *mask_),
      blocks_(static_plan ? build_block_plan(problem(), keys_) : BlockPlan{}),
      key_plan_(backward && static_plan ? transpose_block_plan(blocks_) : KeyTilePlan{}),
      impl_(impl),
      backward_(backward),
      workspace_((plan_engine_bytes(problem(), threads(), impl, backward_) + sizeof(float) - 1) / sizeof(float)),
      quantized_(p.dtype == DType::int8 && impl.products != DType::int8
                     ? p.q_elems() + (impl.kv_cache ? 0 : p.kv_elems())
                     : 0),
      mods_(v.modifiers(), problem()) {
  // Touch every page now, so the first timed call does not pay the page faults.
  std::memset(workspace_.data(), 0, workspace_.size() * sizeof(float));
}

std::size_t MaskedSoftmaxPlan::workspace_bytes() const {
  return (workspace_.size() + quantized_.size()) * sizeof(float) + blocks_.begin.size() * sizeof(uint32_t) +
         blocks_.refs.size() * sizeof(TileRef) + key_plan_.begin.size() * sizeof(uint32_t) +
         key_plan_.refs.size() * sizeof(QueryTileRef);
}

void MaskedSoftmaxPlan::run_backward(const Tensors& in, const float* o, const float* lse, const float* dout,
                                     const Gradients& g) {
  if (!backward_) return Plan::run_backward(in, o, lse, dout, g);
  FlashBackwardArgs a;
  a.p = &problem();
  a.in = in, a.o = o, a.lse = lse, a.dout = dout, a.grads = g;
  a.plan = call_key_plan(in);
  a.mask = &keys_;
  a.mods = mods_.view();
  a.workspace = workspace_.data();
  a.threads = threads();
  backward_->run(a);
}

void MaskedSoftmaxPlan::run_selection(const Tensors& in) {
  if (static_plan_) return Plan::run_selection(in);
  call_plan(in);
}

void MaskedSoftmaxPlan::run(const Tensors& in, const Outputs& out) {
  MaskedAttentionArgs a;
  a.p = &problem();
  a.in = in, a.out = out;
  const DType dtype = problem().dtype;
  if (impl_.kv_cache) {
    // The kernel reads the narrow cache; the float32 K and V are not handed on, so nothing can
    // read them by mistake.
    if (!in.cache || in.cache->dtype != dtype)
      throw UserError(impl_.name + " reads a " + dtype_name(dtype) +
                      " KV cache: pass the inputs as store_inputs() returns them");
    a.in.k = a.in.v = nullptr;
  }
  // Per-call work of the algorithm, timed; a native int8 implementation quantises in its own pack.
  if (dtype == DType::int8 && impl_.products != DType::int8) {
    float* q = quantized_.data();
    if (impl_.kv_cache) {
      quantize_q_int8(problem(), in.q, q);  // K is quantised in the cache
    } else {
      float* k = q + problem().q_elems();
      quantize_qk_int8(problem(), in, q, k);
      a.in.k = k;
    }
    a.in.q = q;
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
  return plan_engine_bytes(p, omp_get_max_threads(), flash_impl(p, isa), flash_backward_impl(p, isa));
}

std::unique_ptr<Plan> MaskedSoftmaxVariant::plan(const Problem& p, Isa max_isa) const {
  if (p.pass != Pass::fwd) return plan_backward_with(p, flash_impl(p, max_isa), *flash_backward_impl(p, max_isa));
  return plan_with(p, flash_impl(p, max_isa));
}

std::unique_ptr<Plan> MaskedSoftmaxVariant::plan_with(const Problem& p, const FlashForwardImpl& impl) const {
  return std::make_unique<MaskedSoftmaxPlan>(*this, p, impl);
}

std::unique_ptr<Plan> MaskedSoftmaxVariant::plan_backward_with(const Problem& p, const FlashForwardImpl& impl,
                                                               const FlashBackwardImpl& backward) const {
  if (p.pass == Pass::fwd || data_dependent())
    throw std::logic_error("plan_backward_with: a static-plan variant and a bwd or fwdbwd problem only");
  return std::make_unique<MaskedSoftmaxPlan>(*this, p, impl, true, &backward);
}

std::string MaskedSoftmaxVariant::modifier_reason(const Problem& p) const {
  return mods_.shape_reason(p);
}

void MaskedSoftmaxVariant::reference(const Problem& p, const Tensors& t, const std::vector<long>& rows,
                                     double* out) const {
  const auto mask = make_mask(p);
  const ProblemModifiers mods(modifiers(), p);
  reference_softmax(p, t, VisibleKeys(p, *mask), rows, out, &mods.view());
}

void MaskedSoftmaxVariant::reference_backward(const Problem& p, const Tensors& t, const float* dout,
                                              const std::vector<long>& groups, const GradientsF64& out) const {
  const auto mask = make_mask(p);
  const ProblemModifiers mods(modifiers(), p);
  reference_softmax_backward(p, t, VisibleKeys(p, *mask), dout, groups, out, &mods.view());
}

std::unique_ptr<KeyPattern> MaskedSoftmaxVariant::key_pattern(const Problem& p) const {
  return std::make_unique<MaskPattern>(*this, p);
}

void MaskedSoftmaxVariant::weights(const Problem& p, const Tensors& t, const std::vector<int>& heads,
                                   const std::vector<long>& rows, float* out) const {
  const ProblemModifiers mods(modifiers(), p);
  const auto mask = make_mask(p);
  reference_weights(p, t, VisibleKeys(p, *mask), 0, p.B, heads, rows, out, &mods.view());
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
