#include "lra_stages.hpp"

namespace attn {

Isa kernel_isa_up_to(Isa max_isa) {
  Isa best = Isa::scalar;
  for (Isa isa : supported_isas())
    if (isa <= max_isa && isa > best) best = isa;
  return best;
}

std::string lra_kernel_name(const std::string& what, Isa isa) { return "f32-" + what + "-" + isa_name(isa); }

DenseStage::DenseStage(const Problem& sub, Isa max_isa) : dense_(make_variant("dense")), plan_(dense_->plan(sub, max_isa)) {}

std::size_t DenseStage::workspace_bytes(const Problem& sub, Isa max_isa) {
  return make_variant("dense")->workspace_bytes(sub, max_isa);
}

Problem DenseStage::derived(const Problem& p, int Nq, int Nk, int Hkv) {
  Problem sub = p;
  sub.Nq = Nq, sub.Nk = Nk, sub.Hkv = Hkv;
  sub.causal = false;
  sub.lens.clear();
  sub.dtype = DType::f32;
  sub.pass = Pass::fwd;
  sub.scale = p.effective_scale();
  return sub;
}

}  // namespace attn
