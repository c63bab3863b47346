#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn {

double reference_softmax_weights(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b, int h, long i,
                                 double* w, const ScoreModifiers* mods) {
  const int D = p.D;
  const double scale = p.effective_scale();
  const long kvh = static_cast<long>(b) * p.Hkv + p.kv_head(h);
  const float* q = t.q + ((static_cast<long>(b) * p.H + h) * p.Nq + i) * D;
  const float* k = t.k + kvh * p.Nk * D;
  constexpr double neg_inf = -std::numeric_limits<double>::infinity();
  std::fill(w, w + p.Nk, 0.0);
  if (i >= p.valid_q(b)) return neg_inf;
  const double cap = mods ? mods->softcap : 0.0;
  const double slope = mods && mods->alibi ? mods->alibi[h] : 0.0;
  const bool sink = mods && mods->sinks;
  double mx = sink ? static_cast<double>(mods->sinks[h]) : neg_inf;
  std::vector<char> vis(p.Nk);
  for (long j = 0; j < p.valid_k(b); ++j) {
    vis[j] = keys.visible(h, i, j);
    if (!vis[j]) continue;
    double s = 0;
    for (int d = 0; d < D; ++d) s += static_cast<double>(q[d]) * k[j * D + d];
    s *= scale;
    if (cap != 0) s = cap * std::tanh(s / cap);
    s += slope * static_cast<double>(j - p.position(i));
    w[j] = s;
    mx = std::max(mx, s);
  }
  double sum = sink ? std::exp(mods->sinks[h] - mx) : 0.0;
  for (long j = 0; j < p.Nk; ++j) {
    w[j] = vis[j] ? std::exp(w[j] - mx) : 0.0;
    sum += w[j];
  }
  if (sum == 0) return neg_inf;
  for (long j = 0; j < p.Nk; ++j) w[j] /= sum;
  return mx + std::log(sum);
}

void reference_softmax_items(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b0, int b1,
                             const std::vector<long>& rows, double* out, const ScoreModifiers* mods) {
  const int D = p.D;
  const long nrows = static_cast<long>(rows.size());
#pragma omp parallel
  {
    std::vector<double> w(p.Nk);
#pragma omp for schedule(dynamic)
    for (long task = 0; task < static_cast<long>(b1 - b0) * p.H * nrows; ++task) {
      const long r = task % nrows;
      const int h = static_cast<int>((task / nrows) % p.H);
      const int b = b0 + static_cast<int>(task / (nrows * p.H));
      reference_softmax_weights(p, t, keys, b, h, rows[r], w.data(), mods);
      const float* v = t.v + (static_cast<long>(b) * p.Hkv + p.kv_head(h)) * p.Nk * D;
      double* o = out + task * D;
      std::fill(o, o + D, 0.0);
      for (long j = 0; j < p.Nk; ++j)
        if (w[j] != 0.0)
          for (int d = 0; d < D; ++d) o[d] += w[j] * v[j * D + d];
    }
  }
}

void reference_softmax(const Problem& p, const Tensors& t, const VisibleKeys& keys, const std::vector<long>& rows,
                       double* out, const ScoreModifiers* mods) {
  reference_softmax_items(p, t, keys, 0, p.B, rows, out, mods);
}

void reference_weights(const Problem& p, const Tensors& t, const VisibleKeys& keys, int b0, int b1,
                       const std::vector<int>& heads, const std::vector<long>& rows, float* out,
                       const ScoreModifiers* mods) {
  const long nh = static_cast<long>(heads.size()), nr = static_cast<long>(rows.size());
#pragma omp parallel
  {
    std::vector<double> w(p.Nk);
#pragma omp for schedule(dynamic)
    for (long task = 0; task < (b1 - b0) * nh * nr; ++task) {
      const int b = b0 + static_cast<int>(task / (nh * nr));
      reference_softmax_weights(p, t, keys, b, heads[(task / nr) % nh], rows[task % nr], w.data(), mods);
      float* o = out + task * p.Nk;
      for (long j = 0; j < p.Nk; ++j) o[j] = static_cast<float>(w[j]);
    }
  }
}

}  // namespace attn
