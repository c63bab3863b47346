// Loops of independent AVX512-BF16 (vdpbf16ps) and AVX512-VNNI (vpdpbusd) dot products: the
// ceilings of the native bf16 and int8 paths (`attnbench peak --dtype bf16|int8`), the way
// fma_loop.hpp is the float32 one. Counted in flops-equivalent, 2 per multiply-add: one zmm
// vdpbf16ps does 32 multiply-adds, one zmm vpdpbusd 64.
#pragma once
#include "target.hpp"

namespace attn::kernels {

// 12 independent chains cover a 5-cycle latency on 2 ports. Named variables, not an array, so
// the sanitizer build keeps them in registers (see fma_loop.hpp).
ATTN_TARGET_BF16 inline double bf16_dot_loop(long iterations) {
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3F7F3F7F), b = (__m512bh)_mm512_set1_epi32(0x33D633D6);
  __m512 c0 = _mm512_set1_ps(1.000f), c1 = _mm512_set1_ps(1.001f), c2 = _mm512_set1_ps(1.002f), c3 = _mm512_set1_ps(1.003f);
  __m512 c4 = _mm512_set1_ps(1.004f), c5 = _mm512_set1_ps(1.005f), c6 = _mm512_set1_ps(1.006f), c7 = _mm512_set1_ps(1.007f);
  __m512 c8 = _mm512_set1_ps(1.008f), c9 = _mm512_set1_ps(1.009f), c10 = _mm512_set1_ps(1.010f), c11 = _mm512_set1_ps(1.011f);
  for (long i = 0; i < iterations; ++i) {
    c0 = _mm512_dpbf16_ps(c0, a, b), c1 = _mm512_dpbf16_ps(c1, a, b), c2 = _mm512_dpbf16_ps(c2, a, b);
    c3 = _mm512_dpbf16_ps(c3, a, b), c4 = _mm512_dpbf16_ps(c4, a, b), c5 = _mm512_dpbf16_ps(c5, a, b);
    c6 = _mm512_dpbf16_ps(c6, a, b), c7 = _mm512_dpbf16_ps(c7, a, b), c8 = _mm512_dpbf16_ps(c8, a, b);
    c9 = _mm512_dpbf16_ps(c9, a, b), c10 = _mm512_dpbf16_ps(c10, a, b), c11 = _mm512_dpbf16_ps(c11, a, b);
  }
  const __m512 sum = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                                 _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))),
                                   _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  volatile float sink = _mm512_reduce_add_ps(sum);
  (void)sink;
  return 2.0 * 12 * 32 * static_cast<double>(iterations);
}

ATTN_TARGET_BF16 inline double int8_dot_loop(long iterations) {
  const __m512i a = _mm512_set1_epi32(0x01020304), b = _mm512_set1_epi32(0x01FF01FF);
  __m512i c0 = _mm512_set1_epi32(0), c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2), c3 = _mm512_set1_epi32(3);
  __m512i c4 = _mm512_set1_epi32(4), c5 = _mm512_set1_epi32(5), c6 = _mm512_set1_epi32(6), c7 = _mm512_set1_epi32(7);
  __m512i c8 = _mm512_set1_epi32(8), c9 = _mm512_set1_epi32(9), c10 = _mm512_set1_epi32(10), c11 = _mm512_set1_epi32(11);
  for (long i = 0; i < iterations; ++i) {
    c0 = _mm512_dpbusd_epi32(c0, a, b), c1 = _mm512_dpbusd_epi32(c1, a, b), c2 = _mm512_dpbusd_epi32(c2, a, b);
    c3 = _mm512_dpbusd_epi32(c3, a, b), c4 = _mm512_dpbusd_epi32(c4, a, b), c5 = _mm512_dpbusd_epi32(c5, a, b);
    c6 = _mm512_dpbusd_epi32(c6, a, b), c7 = _mm512_dpbusd_epi32(c7, a, b), c8 = _mm512_dpbusd_epi32(c8, a, b);
    c9 = _mm512_dpbusd_epi32(c9, a, b), c10 = _mm512_dpbusd_epi32(c10, a, b), c11 = _mm512_dpbusd_epi32(c11, a, b);
    // The compiler may not know vpdpbusd; a barrier keeps it from hoisting the chains anyway.
    __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5));
    __asm__ volatile("" : "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
  }
  const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                                                        _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7))),
                                       _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
  volatile int sink = _mm512_reduce_add_epi32(sum);
  (void)sink;
  return 2.0 * 12 * 64 * static_cast<double>(iterations);
}

}  // namespace attn::kernels
