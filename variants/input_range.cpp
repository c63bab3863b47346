#include "input_range.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "errors.hpp"
#include "variant.hpp"

namespace attn {

namespace {
// Largest row norm (or element) over `rows` rows of `heads` heads, each head of n rows.
struct RowStats {
  double norm = 0, abs = 0;
};

RowStats row_stats(const float* x, long heads, long rows_per_head, const Problem& p, int heads_per_item, bool keys) {
  double norm = 0, abs = 0;
#pragma omp parallel for schedule(static) reduction(max : norm, abs) if (heads * rows_per_head * p.D > (1L << 20))
  for (long head = 0; head < heads; ++head) {
    const int b = static_cast<int>(head / heads_per_item);
    const long valid = keys ? p.valid_k(b) : p.valid_q(b);
    for (long i = 0; i < valid; ++i) {
      const float* row = x + (head * rows_per_head + i) * p.D;
      double sq = 0;
      for (int d = 0; d < p.D; ++d) {
        sq += static_cast<double>(row[d]) * row[d];
        abs = std::max(abs, std::abs(static_cast<double>(row[d])));
      }
      norm = std::max(norm, std::sqrt(sq));
    }
  }
  return {norm, abs};
}
}  // namespace

InputMagnitudes measure_inputs(const Problem& p, const Tensors& t) {
  InputMagnitudes m;
  const long q_heads = static_cast<long>(p.B) * p.H, kv_heads = static_cast<long>(p.B) * p.Hkv;
  m.q_norm = row_stats(t.q, q_heads, p.Nq, p, p.H, false).norm;
  m.k_norm = row_stats(t.k, kv_heads, p.Nk, p, p.Hkv, true).norm;
  m.v_abs = row_stats(t.v, kv_heads, p.Nk, p, p.Hkv, true).abs;
  return m;
}

void check_input_range(const Variant& v, const Problem& p, const Tensors& t) {
  const InputMagnitudes m = measure_inputs(p, t);
  const double bound = v.intermediate_bound(p, m);
  if (bound <= kFloat32SafeBound) return;  // also false for NaN: refused below
  char why[256];
  std::snprintf(why, sizeof why,
                "inputs overflow float32 in %s (largest |q| %.3g, |k| %.3g, |v| %.3g bound intermediates by %.3g, "
                "above %.3g): scale them down",
                v.spec().c_str(), m.q_norm, m.k_norm, m.v_abs, bound, kFloat32SafeBound);
  throw UserError(why);
}

}  // namespace attn
