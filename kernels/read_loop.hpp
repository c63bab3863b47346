// A streaming read of a buffer with several independent sums: the probe behind
// `attnbench peak --bandwidth` (the denominator of pct_bandwidth).
#pragma once
#include "fma_loop.hpp"

namespace attn::kernels {

// Sums n floats (n a multiple of 4 W, p aligned to 64 bytes); the sum keeps the loads alive.
template <class Arch>
float read_loop(const float* p, long n) {
  constexpr int W = static_cast<int>(simd::Vec<Arch>::size);
  using vec = typename FmaVec<W>::type;
  vec s0 = vec{}, s1 = vec{}, s2 = vec{}, s3 = vec{};
  for (long i = 0; i < n; i += 4 * W) {
    vec x0, x1, x2, x3;
    __builtin_memcpy(&x0, p + i, sizeof(vec));
    __builtin_memcpy(&x1, p + i + W, sizeof(vec));
    __builtin_memcpy(&x2, p + i + 2 * W, sizeof(vec));
    __builtin_memcpy(&x3, p + i + 3 * W, sizeof(vec));
    s0 += x0, s1 += x1, s2 += x2, s3 += x3;
  }
  const vec sum = (s0 + s1) + (s2 + s3);
  float total = 0;
  if constexpr (W == 1)
    total = sum;
  else
    for (int l = 0; l < W; ++l) total += sum[l];
  return total;
}

}  // namespace attn::kernels
