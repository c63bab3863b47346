// x[0..n) = softmax(x[0..n)) in place, natural base, written once against simd::Vec<Arch>:
// whole vectors, then a scalar tail. The LRA low-rank kernels use it on explicit score rows
// (synthesizer weights, Nystromformer's landmark kernel); the flash engine has its own online form.
#pragma once
#include <algorithm>
#include <cmath>

#include "simd.hpp"

namespace attn::kernels {

template <class V>
inline void softmax_row(float* x, int n) {
  constexpr int W = static_cast<int>(V::size);
  const int nv = n / W * W;
  float mx = -INFINITY;
  if (nv > 0) {
    V m = V::load_unaligned(x);
    for (int j = W; j < nv; j += W) m = simd::vmax(m, V::load_unaligned(x + j));
    mx = simd::hmax(m);
  }
  for (int j = nv; j < n; ++j) mx = std::max(mx, x[j]);
  V sum(0.0f);
  const V shift(mx);
  for (int j = 0; j < nv; j += W) {
    const V e = simd::vexp(V::load_unaligned(x + j) - shift);
    e.store_unaligned(x + j);
    sum = sum + e;
  }
  float total = simd::hsum(sum);
  for (int j = nv; j < n; ++j) total += x[j] = std::exp(x[j] - mx);
  const V inv(1.0f / total);
  for (int j = 0; j < nv; j += W) (V::load_unaligned(x + j) * inv).store_unaligned(x + j);
  for (int j = nv; j < n; ++j) x[j] *= 1.0f / total;
}

// dst [rows][Dp] = src [rows][D] (row stride D) with zero columns D..Dp: rows made whole vectors
// for small_gemm.hpp.
template <class V>
inline void pack_rows_padded(const float* src, int rows, int D, int Dp, float* dst) {
  for (int r = 0; r < rows; ++r) {
    std::copy(src + static_cast<long>(r) * D, src + static_cast<long>(r + 1) * D, dst + static_cast<long>(r) * Dp);
    std::fill(dst + static_cast<long>(r) * Dp + D, dst + static_cast<long>(r + 1) * Dp, 0.0f);
  }
}

// The inverse: dst [rows][D] = the first D columns of src [rows][Dp].
template <class V>
inline void unpack_rows(const float* src, int rows, int D, int Dp, float* dst) {
  for (int r = 0; r < rows; ++r)
    std::copy(src + static_cast<long>(r) * Dp, src + static_cast<long>(r) * Dp + D, dst + static_cast<long>(r) * D);
}

}  // namespace attn::kernels
