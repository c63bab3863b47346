// The random synthesizer (variants/synthesizer.cpp): O[b, h] = softmax(R) V[b, kv(h)] with one
// [Nq, Nk] weight matrix R for every head. Per call: the row softmax of R once (shared by all
// heads), V zero-padded to whole vectors, then one small_gemm per (head, block of query rows).
// Causal rows stop at key i + Nk - Nq, so a block's product stops at its last row's keys.
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
#pragma omp parallel
  {
    AlignedBuffer out(static_cast<std::size_t>(kSynthesizerRows) * Dp);
#pragma omp for schedule(static)
    for (long i = 0; i < a.Nq; ++i) {
      const long n = synthesizer_keys(a, i);
      float* w = a.weights + i * a.Nk;
      std::copy(a.r + i * a.Nk, a.r + i * a.Nk + n, w);
      if (n > 0) softmax_row<V>(w, static_cast<int>(n));
      std::fill(w + n, w + a.Nk, 0.0f);
    }
#pragma omp for schedule(static)
    for (long row = 0; row < kv_rows; ++row) pack_rows_padded<V>(a.v + row * D, 1, D, Dp, a.values + row * Dp);
#pragma omp for schedule(dynamic, 1)
    for (long t = 0; t < static_cast<long>(a.B) * a.H * blocks; ++t) {
      const long bh = t / blocks;
      const int i0 = static_cast<int>(t % blocks) * kSynthesizerRows;
      const int rows = std::min(kSynthesizerRows, a.Nq - i0);
      const long kvh = bh / a.H * a.Hkv + (bh % a.H) / group;
      float* o = a.o + (bh * a.Nq + i0) * D;
      const int keys = static_cast<int>(synthesizer_keys(a, i0 + rows - 1));
      if (keys == 0) {
        std::memset(o, 0, sizeof(float) * rows * D);
        continue;
      }
      gemm<V>(rows, Dp, keys, a.weights + static_cast<long>(i0) * a.Nk, a.Nk, a.values + kvh * a.Nk * Dp, Dp,
              out.data(), Dp, false);
      unpack_rows<V>(out.data(), rows, D, Dp, o);
    }
  }
}

}  // namespace attn::kernels
