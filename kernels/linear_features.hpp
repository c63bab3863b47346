// Feature maps phi of linear attention, applied to a chunk of up to kLinearChunk rows at once.
// Output is row-major [kLinearChunk][Mp]: rows past the chunk's valid rows and feature columns
// past M are exactly zero, so they add nothing to any product.
//
//   elu1:  phi(x) = elu(x) + 1            (M = D)
//   relu:  phi(x) = max(x, 0)             (M = D)
//   favor: phi(x)_m = exp(w_m.x' - |x'|^2 / 2 - c) / sqrt(M),  x' = favor_x_scale * x
//          (Performer's positive random features). c is a stabiliser that keeps exp finite:
//          for a query, its own max over m (a per-row constant, which cancels between numerator
//          and denominator); for a key, the max over every valid key and feature of its head
//          (one constant per head, which also cancels). Only eps sees the difference, and the
//          float64 reference uses the same definition.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "linear_attention_args.hpp"
#include "simd.hpp"
#include "small_gemm.hpp"

namespace attn::kernels {

constexpr int kLinearChunk = 64;

template <class A>
inline xsimd::batch<float, A> elu1(const xsimd::batch<float, A>& x) {
  using B = xsimd::batch<float, A>;
  return xsimd::select(x > B(0.0f), x + B(1.0f), simd::vexp(xsimd::min(x, B(0.0f))));
}
inline simd::Scalar1 elu1(simd::Scalar1 x) { return x.v > 0.0f ? x.v + 1.0f : simd::vexp(x).v; }

template <class A>
inline xsimd::batch<float, A> relu(const xsimd::batch<float, A>& x) {
  return xsimd::max(x, xsimd::batch<float, A>(0.0f));
}
inline simd::Scalar1 relu(simd::Scalar1 x) { return std::max(x.v, 0.0f); }

// Rounds the feature count up to whole vectors and whole register-block rows.
inline int padded_features(int M, int W) {
  const int m = std::max(W, 4);
  return (M + m - 1) / m * m;
}

// Scratch and constants for computing features: one per thread.
struct FeatureWork {
  const LinearAttentionArgs* args = nullptr;
  int Mp = 0;
  const float* wt = nullptr;  // favor: the projection transposed, [D][Mp], zero past M
  float* xs = nullptr;        // favor: [kLinearChunk][D] scaled inputs
};

// favor: out[r][m] = w_m.x'_r - |x'_r|^2 / 2 for r < rows (other rows and columns: 0).
template <class V>
inline void favor_exponents(const FeatureWork& fw, const float* x, int rows, float* out) {
  const LinearAttentionArgs& a = *fw.args;
  const int D = a.D, Mp = fw.Mp;
  for (int r = 0; r < kLinearChunk; ++r)
    for (int d = 0; d < D; ++d) fw.xs[r * D + d] = r < rows ? x[static_cast<long>(r) * D + d] * a.favor_x_scale : 0.0f;
  gemm<V>(kLinearChunk, Mp, D, fw.xs, D, fw.wt, Mp, out, Mp, false);
  for (int r = 0; r < kLinearChunk; ++r) {
    float* row = out + r * Mp;
    if (r >= rows) {
      std::memset(row, 0, sizeof(float) * Mp);
      continue;
    }
    float sq = 0.0f;
    for (int d = 0; d < D; ++d) sq += fw.xs[r * D + d] * fw.xs[r * D + d];
    for (int m = 0; m < a.M; ++m) row[m] -= 0.5f * sq;
    std::fill(row + a.M, row + Mp, 0.0f);
  }
}

// out[r][m] = exp(out[r][m] - c_r) with c_r = shift (if given) or the row's own max, over r < rows
// and m < M; 1/sqrt(M) folded into the exponent.
template <class V>
inline void favor_exponentiate(const FeatureWork& fw, int rows, float* out, const float* shift) {
  constexpr int W = static_cast<int>(V::size);
  const int M = fw.args->M, Mp = fw.Mp;
  const float log_norm = 0.5f * std::log(static_cast<float>(M));
  for (int r = 0; r < rows; ++r) {
    float* row = out + r * Mp;
    const float c = (shift ? *shift : *std::max_element(row, row + M)) + log_norm;
    for (int m = 0; m < Mp; m += W) simd::vexp(V::load_unaligned(row + m) - V(c)).store_unaligned(row + m);
    std::fill(row + M, row + Mp, 0.0f);
  }
}

// Features of `rows` consecutive input rows x (stride D) into out [kLinearChunk][Mp].
// key_shift: favor keys only, the head's stabiliser; nullptr means a query (its own row max).
template <class V>
inline void chunk_features(const FeatureWork& fw, const float* x, int rows, float* out, const float* key_shift) {
  constexpr int W = static_cast<int>(V::size);
  const LinearAttentionArgs& a = *fw.args;
  const int D = a.D, Mp = fw.Mp;
  if (a.map == FeatureMap::favor) {
    favor_exponents<V>(fw, x, rows, out);
    favor_exponentiate<V>(fw, rows, out, key_shift);
    return;
  }
  for (int r = 0; r < kLinearChunk; ++r) {
    float* row = out + r * Mp;
    if (r >= rows) {
      std::memset(row, 0, sizeof(float) * Mp);
      continue;
    }
    std::memcpy(row, x + static_cast<long>(r) * D, sizeof(float) * D);
    std::fill(row + D, row + Mp, 0.0f);
    if (a.map == FeatureMap::elu1) {
      for (int m = 0; m < Mp; m += W) elu1(V::load_unaligned(row + m)).store_unaligned(row + m);
      std::fill(row + D, row + Mp, 0.0f);  // elu1(0) = 1: clear the padding again
    } else {
      for (int m = 0; m < Mp; m += W) relu(V::load_unaligned(row + m)).store_unaligned(row + m);
    }
  }
}

}  // namespace attn::kernels
