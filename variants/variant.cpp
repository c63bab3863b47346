// Defaults of the Variant interface: the workspace range and the optional views (key pattern,
// attention weights).
#include "variant.hpp"

#include <algorithm>

#include "errors.hpp"

namespace attn {

std::string Variant::unsupported_reason(const Problem& p) const {
  if (!implemented(p.dtype, p.pass))
    return std::string(dtype_name(p.dtype)) + " " + pass_name(p.pass) + " is not implemented for " + name() + " yet";
  const std::string mods = modifier_reason(p);
  return mods.empty() ? shape_reason(p) : mods;
}

double Variant::intermediate_bound(const Problem& p, const InputMagnitudes& m) const {
  // Scores: |scale q.k| <= scale |q| |k|; the engine folds scale * log2(e) into K first, the
  // unfused paths form q.k before scaling, so both factors count from 1 up.
  const double s = std::max(1.0, std::abs(static_cast<double>(p.effective_scale())) * 1.4426950408889634);
  const double scores = s * std::max(m.q_norm, 1.0) * std::max(m.k_norm, 1.0);
  // P.V: probabilities below 2^8 (the engine's lazy rescale) times Nk values.
  const double pv = 256.0 * p.Nk * m.v_abs;
  return std::max(scores, pv);
}

WorkspaceRange Variant::workspace_range(const Problem& p, Isa isa) const {
  const double w = static_cast<double>(workspace_bytes(p, isa));
  return {w, w};
}

std::unique_ptr<KeyPattern> Variant::key_pattern(const Problem& p) const { return all_keys_pattern(p); }

void Variant::reference_backward(const Problem&, const Tensors&, const float*, const std::vector<long>&,
                                 const GradientsF64&) const {
  throw UserError(spec() + " has no backward reference");
}

void Variant::weights(const Problem&, const Tensors&, const std::vector<int>&, const std::vector<long>&,
                      float*) const {
  throw UserError(spec() + " cannot give attention weights (it has no per-key probabilities)");
}

}  // namespace attn
