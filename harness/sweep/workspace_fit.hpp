// Whether a variant's workspace fits in memory, decided before anything that grows with N is
// built: a case that cannot fit is turned down in O(1) time and memory.
#pragma once
#include <string>

#include "variant.hpp"

namespace attn {

struct WorkspaceFit {
  bool fits = false;
  bool exact = false;  // `need` counts workspace_bytes(); otherwise a bound (the floor when !fits)
  double need = 0;     // `fixed` plus the workspace figure the decision used
};

// `fixed` bytes (tensors, buffers) plus the variant's workspace against `limit`. From
// workspace_range() when its floor is already over the limit or its bound fits, else from
// workspace_bytes(), which counts the tile plan without storing it.
WorkspaceFit fit_workspace(const Variant& v, const Problem& p, Isa isa, double fixed, double limit);

// "12.34 GiB"
std::string gib_text(double bytes);

}  // namespace attn
