#include "reference_backward.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "reference.hpp"

namespace attn {

namespace {
// One query head h of batch item b: its dQ rows [Nq, D] and its share of dK, dV [Nk, D].
void head_backward(const Problem& p, const Tensors& t, const VisibleKeys& keys, const float* dout, int b, int h,
                   double* dq, double* dk, double* dv, const ScoreModifiers* mods) {
  const double cap = mods ? mods->softcap : 0.0;
  const int D = p.D;
  const long Nk = p.Nk;
  const double scale = p.effective_scale();
  const long bh = static_cast<long>(b) * p.H + h, kvh = static_cast<long>(b) * p.Hkv + p.kv_head(h);
  const float* k = t.k + kvh * Nk * D;
  const float* v = t.v + kvh * Nk * D;
  std::vector<double> w(Nk), o(D), ds(Nk);
  for (long i = 0; i < p.Nq; ++i) {
    const float* q = t.q + (bh * p.Nq + i) * D;
    const float* g = dout + (bh * p.Nq + i) * D;
    double* dqi = dq + i * D;
    reference_softmax_weights(p, t, keys, b, h, i, w.data(), mods);  // 0 for invisible keys and padding rows
    std::fill(o.begin(), o.end(), 0.0);
    for (long j = 0; j < Nk; ++j)
      if (w[j] != 0.0)
        for (int d = 0; d < D; ++d) o[d] += w[j] * v[j * D + d];
    double di = 0;
    for (int d = 0; d < D; ++d) di += static_cast<double>(g[d]) * o[d];
    for (long j = 0; j < Nk; ++j) {
      ds[j] = 0;
      if (w[j] == 0.0) continue;
      double dp = 0;
      for (int d = 0; d < D; ++d) dp += static_cast<double>(g[d]) * v[j * D + d];
      ds[j] = w[j] * (dp - di);
      if (cap != 0) {
        double u = 0;
        for (int d = 0; d < D; ++d) u += static_cast<double>(q[d]) * k[j * D + d];
        const double th = std::tanh(scale * u / cap);
        ds[j] *= 1.0 - th * th;
      }
    }
    for (long j = 0; j < Nk; ++j) {
      if (w[j] == 0.0) continue;
      for (int d = 0; d < D; ++d) {
        dqi[d] += scale * ds[j] * k[j * D + d];
        dk[j * D + d] += scale * ds[j] * q[d];
        dv[j * D + d] += w[j] * g[d];
      }
    }
  }
}
}  // namespace

void reference_softmax_backward(const Problem& p, const Tensors& t, const VisibleKeys& keys, const float* dout,
                                const std::vector<long>& groups_in, const GradientsF64& out, const ScoreModifiers* mods) {
  std::vector<long> groups = groups_in;
  if (groups.empty()) {
    groups.resize(static_cast<std::size_t>(p.B) * p.Hkv);
    std::iota(groups.begin(), groups.end(), 0L);
  }
  const int group = p.H / p.Hkv;
  const long ng = static_cast<long>(groups.size());
  const std::size_t q_head = static_cast<std::size_t>(p.Nq) * p.D, kv_head = static_cast<std::size_t>(p.Nk) * p.D;
  // Each query head's share of dK and dV apart, summed in a fixed order afterwards: parallel
  // over heads, and the same result whatever the thread count.
  std::vector<double> dk_part(ng * group * kv_head, 0.0), dv_part(dk_part.size(), 0.0);
  std::fill(out.dq, out.dq + ng * group * q_head, 0.0);
#pragma omp parallel for schedule(dynamic)
  for (long task = 0; task < ng * group; ++task) {
    const long gi = groups[task / group];
    const int b = static_cast<int>(gi / p.Hkv), h = static_cast<int>(gi % p.Hkv) * group + static_cast<int>(task % group);
    head_backward(p, t, keys, dout, b, h, out.dq + task * q_head, dk_part.data() + task * kv_head,
                  dv_part.data() + task * kv_head, mods);
  }
  for (long gi = 0; gi < ng; ++gi)
    for (std::size_t e = 0; e < kv_head; ++e) {
      double sk = 0, sv = 0;
      for (int hh = 0; hh < group; ++hh) {
        sk += dk_part[(gi * group + hh) * kv_head + e];
        sv += dv_part[(gi * group + hh) * kv_head + e];
      }
      out.dk[gi * kv_head + e] = sk;
      out.dv[gi * kv_head + e] = sv;
    }
}

}  // namespace attn
