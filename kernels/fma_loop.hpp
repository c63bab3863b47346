// A loop of independent FMAs that keeps both FMA ports busy: the probe behind `attnbench peak`.
#pragma once
#include "simd.hpp"

namespace attn::kernels {

template <class Arch>
double fma_loop(long iterations) {
  using V = simd::Vec<Arch>;
  // 12 independent chains cover FMA latency (4 cycles) x 2 ports with room to spare.
  constexpr int chains = 12;
  V acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = V(1.0f + 1e-3f * c);
  const V a(0.999999f), b(1e-7f);
  for (long i = 0; i < iterations; ++i) {
    // Float FMA chains cannot be folded without -ffast-math, so no barrier is needed here; a
    // "memory" clobber would force acc[] through the stack every iteration (store-forwarding
    // bound, about a quarter of the real peak).
    for (int c = 0; c < chains; ++c) acc[c] = simd::vfma(acc[c], a, b);
  }
  V sum(0.0f);
  for (int c = 0; c < chains; ++c) sum = sum + acc[c];
  volatile float sink = simd::hsum(sum);
  (void)sink;
  return 2.0 * chains * static_cast<double>(V::size) * iterations;
}

}  // namespace attn::kernels
