// A register-blocked product of small row-major float matrices, written once against
// simd::Vec<Arch>:  C[i][0..n) (+)= sum_{k < kn} A[i][k] * B[k][0..n).
// A[i][k] is read at a[i * lda + k * ak]: ak = 1 is row-major A, lda = 1 and ak = its row
// length reads a row-major matrix as its transpose (no copy needed).
// The linear-attention kernels are built from it (feature products, state updates, outputs).
#pragma once
#include <algorithm>
#include <cstddef>

#include "simd.hpp"

namespace attn::kernels {

// R rows x CV vectors of C in registers; AVX-512 (W = 16) has the 32 registers for 4 x 4.
template <class V>
struct GemmBlocking {
  static constexpr int W = static_cast<int>(V::size);
  static constexpr int R = 4;
  static constexpr int CV = W >= 16 ? 4 : 2;
};

template <class V, int R, int CV>
inline void gemm_block(const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, int kn, float* c,
                       std::ptrdiff_t ldc, bool accumulate, std::ptrdiff_t ak) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][CV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < CV; ++v) acc[r][v] = accumulate ? V::load_unaligned(c + r * ldc + v * W) : V(0.0f);
  for (int k = 0; k < kn; ++k) {
    V bv[CV];
    for (int v = 0; v < CV; ++v) bv[v] = V::load_unaligned(b + k * ldb + v * W);
    for (int r = 0; r < R; ++r) {
      const V ar(a[r * lda + k * ak]);
      for (int v = 0; v < CV; ++v) acc[r][v] = simd::vfma(ar, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < CV; ++v) acc[r][v].store_unaligned(c + r * ldc + v * W);
}

// R rows of C over n columns (a multiple of W): blocks of CV vectors, then narrower ones.
template <class V, int R>
inline void gemm_rows(const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, int kn, float* c,
                      std::ptrdiff_t ldc, int n, bool accumulate, std::ptrdiff_t ak = 1) {
  constexpr int W = static_cast<int>(V::size);
  constexpr int CV = GemmBlocking<V>::CV;
  const int nvec = n / W;
  int v0 = 0;
  for (; v0 + CV <= nvec; v0 += CV) gemm_block<V, R, CV>(a, lda, b + v0 * W, ldb, kn, c + v0 * W, ldc, accumulate, ak);
  if constexpr (CV >= 4) {
    if (v0 + 2 <= nvec) {
      gemm_block<V, R, 2>(a, lda, b + v0 * W, ldb, kn, c + v0 * W, ldc, accumulate, ak);
      v0 += 2;
    }
  }
  for (; v0 < nvec; ++v0) gemm_block<V, R, 1>(a, lda, b + v0 * W, ldb, kn, c + v0 * W, ldc, accumulate, ak);
}

// The whole product for `rows` rows (any count) and n columns (a multiple of W).
template <class V>
inline void gemm(int rows, int n, int kn, const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb,
                 float* c, std::ptrdiff_t ldc, bool accumulate, std::ptrdiff_t ak = 1) {
  constexpr int R = GemmBlocking<V>::R;
  int r = 0;
  for (; r + R <= rows; r += R) gemm_rows<V, R>(a + r * lda, lda, b, ldb, kn, c + r * ldc, ldc, n, accumulate, ak);
  for (; r < rows; ++r) gemm_rows<V, 1>(a + r * lda, lda, b, ldb, kn, c + r * ldc, ldc, n, accumulate, ak);
}

// Lower-triangular use inside a causal chunk: row i of C only needs k <= i (A is zero above
// its diagonal) or only columns j <= i. Row block [r, r + R) therefore stops at r + R.
template <class V>
inline void gemm_lower_k(int rows, int n, const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb,
                         float* c, std::ptrdiff_t ldc, bool accumulate) {
  constexpr int R = GemmBlocking<V>::R;
  int r = 0;
  for (; r + R <= rows; r += R) gemm_rows<V, R>(a + r * lda, lda, b, ldb, r + R, c + r * ldc, ldc, n, accumulate);
  for (; r < rows; ++r) gemm_rows<V, 1>(a + r * lda, lda, b, ldb, r + 1, c + r * ldc, ldc, n, accumulate);
}

template <class V>
inline void gemm_lower_n(int rows, int n, int kn, const float* a, std::ptrdiff_t lda, const float* b,
                         std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc) {
  constexpr int R = GemmBlocking<V>::R;
  constexpr int W = static_cast<int>(V::size);
  auto cols = [&](int last_row) { return std::min(n, (last_row + W) / W * W); };
  int r = 0;
  for (; r + R <= rows; r += R) gemm_rows<V, R>(a + r * lda, lda, b, ldb, kn, c + r * ldc, ldc, cols(r + R - 1), false);
  for (; r < rows; ++r) gemm_rows<V, 1>(a + r * lda, lda, b, ldb, kn, c + r * ldc, ldc, cols(r), false);
}

}  // namespace attn::kernels
