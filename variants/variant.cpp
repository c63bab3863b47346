// Defaults of the Variant interface: the workspace range and the optional views (key pattern,
// attention weights).
#include "variant.hpp"

#include "errors.hpp"

namespace attn {

WorkspaceRange Variant::workspace_range(const Problem& p, Isa isa) const {
  const double w = static_cast<double>(workspace_bytes(p, isa));
  return {w, w};
}

std::unique_ptr<KeyPattern> Variant::key_pattern(const Problem& p) const { return all_keys_pattern(p); }

void Variant::weights(const Problem&, const Tensors&, const std::vector<int>&, const std::vector<long>&,
                      float*) const {
  throw UserError(spec() + " cannot give attention weights (it has no per-key probabilities)");
}

}  // namespace attn
