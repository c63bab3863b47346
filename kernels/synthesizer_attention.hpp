// The random synthesizer (variants/synthesizer.cpp): O[b, h] = softmax(R) V[b, kv(h)] with one
// [Nq, Nk] weight matrix R for every head. Per call: V zero-padded to whole vectors, then per
// block of kSynthesizerRows query rows the row softmax of R into the thread's tile (once, shared
// by every head) and, per head, softmax(R) V on small_gemm in key chunks of kSynthesizerKeys (the
// chunk of V stays in cache for the block's rows). Causal rows stop at key i + Nk - Nq, so a
// block's product stops at its last row's keys.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "aligned_buffer.hpp"
#include "lra_args.hpp"
#include "row_softmax.hpp"
#include "small_gemm.hpp"

namespace attn::kernels {

// Keys row i reads: [0, synthesizer_keys(i)).
inline long synthesizer_keys(const SynthesizerArgs& a, long i) {
  return a.causal ? std::clamp<long>(i + a.Nk - a.Nq + 1, 0, a.Nk) : a.Nk;
}

template <class Arch>
void synthesizer_attention(const SynthesizerArgs& a) {
  using V = simd::Vec<Arch>;
  constexpr int W = static_cast<int>(V::size);
  const int Dp = round_up_to(a.D, W), D = a.D, group = a.H / a.Hkv;
  const long kv_rows = static_cast<long>(a.B) * a.Hkv * a.Nk;
  const int blocks = (a.Nq + kSynthesizerRows - 1) / kSynthesizerRows;
#pragma omp parallel num_threads(a.threads)
  {
    const int thread = omp_get_thread_num();
    float* weights = a.weights + static_cast<std::size_t>(thread) * kSynthesizerRows * a.Nk;
    float* out = a.out + static_cast<std::size_t>(thread) * kSynthesizerRows * Dp;
#pragma omp for schedule(static)
    for (long row = 0; row < kv_rows; ++row) pack_rows_padded<V>(a.v + row * D, 1, D, Dp, a.values + row * Dp);
#pragma omp for schedule(dynamic, 1)
    for (int blk = 0; blk < blocks; ++blk) {
      const int i0 = blk * kSynthesizerRows, rows = std::min(kSynthesizerRows, a.Nq - i0);
      for (int r = 0; r < rows; ++r) {
        const long n = synthesizer_keys(a, i0 + r);
        float* w = weights + static_cast<long>(r) * a.Nk;
        std::copy(a.r + (i0 + r) * static_cast<long>(a.Nk), a.r + (i0 + r) * static_cast<long>(a.Nk) + n, w);
        if (n > 0) softmax_row<V>(w, static_cast<int>(n));
        std::fill(w + n, w + a.Nk, 0.0f);
      }
      const int keys = static_cast<int>(synthesizer_keys(a, i0 + rows - 1));
      for (long bh = 0; bh < static_cast<long>(a.B) * a.H; ++bh) {
        float* o = a.o + (bh * a.Nq + i0) * D;
        if (keys == 0) {
          std::memset(o, 0, sizeof(float) * rows * D);
          continue;
        }
        const float* v = a.values + (bh / a.H * a.Hkv + (bh % a.H) / group) * a.Nk * Dp;
        for (int c0 = 0; c0 < keys; c0 += kSynthesizerKeys)
          gemm<V>(rows, Dp, std::min(kSynthesizerKeys, keys - c0), weights + c0, a.Nk, v + static_cast<long>(c0) * Dp, Dp,
                  out, Dp, c0 > 0);
        unpack_rows<V>(out, rows, D, Dp, o);
      }
    }
  }
}

}  // namespace attn::kernels
