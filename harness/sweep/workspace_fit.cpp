#include "workspace_fit.hpp"

#include <cstdio>

namespace attn {

WorkspaceFit fit_workspace(const Variant& v, const Problem& p, Isa isa, double fixed, double limit) {
  WorkspaceFit fit;
  if (fixed > limit) {
    fit.need = fixed;
    return fit;
  }
  const WorkspaceRange range = v.workspace_range(p, isa);
  if (fixed + range.floor > limit) {
    fit.need = fixed + range.floor;
    return fit;
  }
  if (fixed + range.bound <= limit) {
    fit.fits = true;
    fit.need = fixed + range.bound;
    return fit;
  }
  fit.exact = true;
  fit.need = fixed + static_cast<double>(v.workspace_bytes(p, isa));
  fit.fits = fit.need <= limit;
  return fit;
}

std::string gib_text(double bytes) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / 1073741824.0);
  return buf;
}

}  // namespace attn
