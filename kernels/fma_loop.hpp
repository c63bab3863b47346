// A loop of independent FMAs that keeps both FMA ports busy: the probe behind `attnbench peak`.
#pragma once
#include "simd.hpp"

namespace attn::kernels {

// Written with GCC vector types rather than xsimd batches: plain values with no references,
// so even the sanitizer build keeps the accumulators in registers and measures the hardware,
// not the instrumentation (-ffp-contract=fast turns a * b + c into one FMA where the ISA has it).
template <int W>
struct FmaVec {
  typedef float type __attribute__((vector_size(W * sizeof(float))));
};
template <>
struct FmaVec<1> {  // GCC has no one-lane vectors
  typedef float type;
};

template <class Arch>
double fma_loop(long iterations) {
  constexpr int W = static_cast<int>(simd::Vec<Arch>::size);
  using vec = typename FmaVec<W>::type;
  // 12 independent chains cover FMA latency (4 cycles) x 2 ports with room to spare. Named
  // variables, not an array: an array would be kept in memory by the sanitizer build.
  constexpr int chains = 12;
  const vec a = vec{} + 0.999999f, b = vec{} + 1e-7f;
  vec c0 = vec{} + 1.000f, c1 = vec{} + 1.001f, c2 = vec{} + 1.002f, c3 = vec{} + 1.003f;
  vec c4 = vec{} + 1.004f, c5 = vec{} + 1.005f, c6 = vec{} + 1.006f, c7 = vec{} + 1.007f;
  vec c8 = vec{} + 1.008f, c9 = vec{} + 1.009f, c10 = vec{} + 1.010f, c11 = vec{} + 1.011f;
  // Float chains cannot be folded without -ffast-math, so the loop needs no barrier.
  for (long i = 0; i < iterations; ++i) {
    c0 = c0 * a + b, c1 = c1 * a + b, c2 = c2 * a + b, c3 = c3 * a + b;
    c4 = c4 * a + b, c5 = c5 * a + b, c6 = c6 * a + b, c7 = c7 * a + b;
    c8 = c8 * a + b, c9 = c9 * a + b, c10 = c10 * a + b, c11 = c11 * a + b;
  }
  const vec sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
  float total = 0;
  if constexpr (W == 1)
    total = sum;
  else
    for (int l = 0; l < W; ++l) total += sum[l];
  volatile float sink = total;
  (void)sink;
  return 2.0 * chains * W * iterations;
}

}  // namespace attn::kernels
