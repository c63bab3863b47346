#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn {

double reference_softmax_weights(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b, int h, long i,
                               double* w) {
  const int D = p.D;
  const double scale = p.effective_scale();
  const long kvh = static_cast<long>(b) * p.Hkv + p.kv_head(h);
  const float* q = t.q + ((static_cast<long>(b) * p.H + h) * p.Nq + i) * D;
  const float* k = t.k + kvh * p.Nk * D;
  constexpr double neg_inf = -std::numeric_limits<double>::infinity();
  std::fill(w, w + p.Nk, 0.0);
  if (i >= p.valid_q(b)) return neg_inf;
  double mx = -std::numeric_limits<double>::infinity();
  std::vector<char> vis(p.Nk);
  for (long j = 0; j < p.valid_k(b); ++j) {
    vis[j] = keys.visible(h, i, j);
    if (!vis[j]) continue;
    double s = 0;
    for (int d = 0; d < D; ++d) s += static_cast<double>(q[d]) * k[j * D + d];
    w[j] = s * scale;
    mx = std::max(mx, w[j]);
  }
  double sum = 0;
  for (long j = 0; j < p.Nk; ++j) {
    w[j] = vis[j] ? std::exp(w[j] - mx) : 0.0;
    sum += w[j];
  }
  if (sum == 0) return neg_inf;
  for (long j = 0; j < p.Nk; ++j) w[j] /= sum;
  return mx + std::log(sum);
}

void reference_softmax(const Problem& p, const Tensors& t, const VisibleKeys& keys, const std::vector<long>& rows,
                       double* out) {
  const int D = p.D;
  const long nrows = static_cast<long>(rows.size());
#pragma omp parallel
  {
    std::vector<double> w(p.Nk);
#pragma omp for schedule(dynamic)
    for (long task = 0; task < static_cast<long>(p.B) * p.H * nrows; ++task) {
      const long r = task % nrows;
      const int h = static_cast<int>((task / nrows) % p.H);
      const int b = static_cast<int>(task / (nrows * p.H));
      reference_softmax_weights(p, t, keys, b, h, rows[r], w.data());
      const float* v = t.v + (static_cast<long>(b) * p.Hkv + p.kv_head(h)) * p.Nk * D;
      double* o = out + task * D;
      std::fill(o, o + D, 0.0);
      for (long j = 0; j < p.Nk; ++j)
        if (w[j] != 0.0)
          for (int d = 0; d < D; ++d) o[d] += w[j] * v[j * D + d];
    }
  }
}

}  // namespace attn
