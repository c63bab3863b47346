// Linformer's projections (variants/linformer.cpp): K' = E K and V' = F V per key/value head,
// E and F [k, Nk]. Tasks of kProjectRows rows of E or F; the keys stream through a packed,
// zero-padded chunk of kProjectChunk rows (whole vectors for small_gemm) accumulated into the
// task's [rows, Dp] block, so each chunk of K or V is read from cache, not memory, per task.
#pragma once
#include <omp.h>

#include <algorithm>

#include "aligned_buffer.hpp"
#include "lra_args.hpp"
#include "row_softmax.hpp"
#include "small_gemm.hpp"

namespace attn::kernels {

template <class Arch>
void linformer_projection(const ProjectionArgs& a) {
  using V = simd::Vec<Arch>;
  constexpr int W = static_cast<int>(V::size);
  const int Dp = round_up_to(a.D, W);
  const int row_blocks = (a.k + kProjectRows - 1) / kProjectRows;
  const long tasks = static_cast<long>(a.heads) * 2 * row_blocks;
#pragma omp parallel num_threads(a.threads)
  {
    AlignedBuffer chunk(static_cast<std::size_t>(kProjectChunk) * Dp), block(static_cast<std::size_t>(kProjectRows) * Dp);
#pragma omp for schedule(dynamic, 1)
    for (long t = 0; t < tasks; ++t) {
      const long head = t / (2 * row_blocks);
      const bool values = (t / row_blocks) % 2 == 1;
      const int r0 = static_cast<int>(t % row_blocks) * kProjectRows;
      const int rows = std::min(kProjectRows, a.k - r0);
      const float* proj = (values ? a.f : a.e) + static_cast<long>(r0) * a.n;
      const float* x = (values ? a.values : a.keys) + head * a.n * a.D;
      float* out = (values ? a.values_out : a.keys_out) + (head * a.k + r0) * a.D;
      for (int c0 = 0; c0 < a.n; c0 += kProjectChunk) {
        const int len = std::min(kProjectChunk, a.n - c0);
        pack_rows_padded<V>(x + static_cast<long>(c0) * a.D, len, a.D, Dp, chunk.data());
        gemm<V>(rows, Dp, len, proj + c0, a.n, chunk.data(), Dp, block.data(), Dp, c0 > 0);
      }
      unpack_rows<V>(block.data(), rows, a.D, Dp, out);
    }
  }
}

}  // namespace attn::kernels
