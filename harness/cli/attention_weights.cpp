#include "attention_weights.hpp"

#include <cmath>
#include <cstdio>

#include "errors.hpp"
#include "index_list.hpp"
#include "memory.hpp"
#include "npy.hpp"

namespace attn {

WeightsPlan plan_weights(const Variant& v, const Problem& p, const WeightsRequest& r) {
  if (!v.has_weights()) throw UserError("--weights: " + v.spec() + " cannot give attention weights");
  if (!(r.max_mb > 0) || !std::isfinite(r.max_mb)) throw UserError("--weights-max-mb must be a positive number");
  WeightsPlan plan;
  plan.path = r.path;
  for (long h : parse_index_list(r.heads, p.H, "--weights-heads")) plan.heads.push_back(static_cast<int>(h));
  plan.rows = parse_index_list(r.rows, p.Nq, "--weights-rows");
  const double bytes = 4.0 * p.B * plan.heads.size() * plan.rows.size() * p.Nk;
  const double mib = bytes / (1024.0 * 1024.0);
  if (mib > r.max_mb) {
    char line[320];
    std::snprintf(line, sizeof line,
                  "--weights would be %.1f MiB ([B=%d, heads=%zu, rows=%zu, Nk=%d] float32), over the %g MiB "
                  "limit: select fewer with --weights-heads/--weights-rows or raise --weights-max-mb",
                  mib, p.B, plan.heads.size(), plan.rows.size(), p.Nk, r.max_mb);
    throw UserError(line);
  }
  require_memory(static_cast<std::size_t>(bytes), "--weights");
  return plan;
}

void write_weights(const Variant& v, const Problem& p, const Tensors& t, const WeightsPlan& plan) {
  const long nh = static_cast<long>(plan.heads.size()), nr = static_cast<long>(plan.rows.size());
  std::vector<float> w(static_cast<std::size_t>(p.B) * nh * nr * p.Nk);
  v.weights(p, t, plan.heads, plan.rows, w.data());
  write_npy(plan.path, {p.B, nh, nr, p.Nk}, w.data());
}

}  // namespace attn
