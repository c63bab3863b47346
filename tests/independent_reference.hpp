// A second float64 reference, written from SPEC.md without sharing code with variants/:
// if both references agree with the kernels, the kernels are right for the right reason.
#pragma once
#include <cmath>
#include <functional>
#include <vector>

#include "test_util.hpp"

namespace attn::test {

// visible(h, i, j): the variant's own rule (window, layout ...); causal and the
// bottom-right alignment are applied here.
inline std::vector<double> spec_attention(const Inputs& in,
                                          const std::function<bool(int, long, long)>& visible = nullptr) {
  const Problem& p = in.p;
  std::vector<double> out(static_cast<std::size_t>(p.B) * p.H * p.Nq * p.D, 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(p.D));
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h) {
      const int hk = h / (p.H / p.Hkv);
      const int len = in.lens.empty() ? p.Nk : in.lens[b];
      for (long i = 0; i < (in.lens.empty() ? p.Nq : len); ++i) {
        const long pos = i + (in.lens.empty() ? p.Nk - p.Nq : 0);
        std::vector<double> s(p.Nk, -INFINITY);
        double mx = -INFINITY;
        for (long j = 0; j < len; ++j) {
          if (p.causal && j > pos) continue;
          if (visible && !visible(h, i, j)) continue;
          double dot = 0;
          for (int d = 0; d < p.D; ++d)
            dot += double(in.q[((size_t(b) * p.H + h) * p.Nq + i) * p.D + d]) *
                   in.k[((size_t(b) * p.Hkv + hk) * p.Nk + j) * p.D + d];
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        if (mx == -INFINITY) continue;
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        double* o = &out[((size_t(b) * p.H + h) * p.Nq + i) * p.D];
        for (long j = 0; j < p.Nk; ++j)
          for (int d = 0; d < p.D; ++d) o[d] += s[j] / sum * in.v[((size_t(b) * p.Hkv + hk) * p.Nk + j) * p.D + d];
      }
    }
  return out;
}

}  // namespace attn::test
