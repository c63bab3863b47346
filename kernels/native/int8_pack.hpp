// The int8 path's per-call quantisation (SPEC "int8", SageAttention's recipe) in AVX-512, for
// Int8Products::pack (int8_products.hpp: vpdpbusd) and so for AMX's tdpbusd too. The integers
// and scales are exactly variants/precision.cpp's quantize_qk_int8 (the emulated path's):
// the same float operations in the same order per value (vcvtps2dq rounds in the current
// mode, nearest even by default, as std::nearbyint does); tests/test_ukernels.cpp compares them.
// Only AVX512-F/BW/VL: compiled with the avx512 flags like the engine around it.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace attn::kernels::int8 {

constexpr int kRows = 64;  // rows of one key / query tile (the engine's kTileK = kTileQ)

// The first n of 16 lanes (n <= 0: none).
inline __mmask16 lanes(int n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFF : n > 0 ? (1u << n) - 1 : 0); }

// max|x| over n values, NaN ignored as std::max(amax, |x|) ignores it (vmaxps returns its second
// operand when the first is NaN).
inline float max_abs(const float* x, long n) {
  __m512 acc = _mm512_setzero_ps();
  long i = 0;
  for (; i + 16 <= n; i += 16) acc = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), acc);
  if (i < n) acc = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(lanes(static_cast<int>(n - i)), x + i)), acc);
  return _mm512_reduce_max_ps(acc);
}

// 127 / max|x| (0 when all are zero: every code is then 0) and the scale max|x| / 127.
struct Scale {
  float inv, s;
  explicit Scale(float amax) : inv(amax == 0.0f ? 0.0f : 127.0f / amax), s(amax / 127.0f) {}
};

// round(x * inv) of the masked lanes (0 elsewhere) as int32.
inline __m512i codes(__m512 x, __m512 inv) { return _mm512_cvtps_epi32(_mm512_mul_ps(x, inv)); }

// Channel means of n keys (row stride D), each channel summed in key order, then divided by n
// (precision.cpp's key_means). Up to 128 channels per pass over the keys.
inline void key_means(const float* k, long n, int D, float* mean) {
  for (int d0 = 0; d0 < D; d0 += 128) {
    __mmask16 m[8];
    __m512 acc[8];
    for (int c = 0; c < 8; ++c) m[c] = lanes(D - d0 - 16 * c), acc[c] = _mm512_setzero_ps();
    for (long j = 0; j < n; ++j)
      for (int c = 0; c < 8; ++c) acc[c] = _mm512_add_ps(acc[c], _mm512_maskz_loadu_ps(m[c], k + j * D + d0 + 16 * c));
    const __m512 count = _mm512_set1_ps(static_cast<float>(n));
    for (int c = 0; c < 8; ++c) _mm512_mask_storeu_ps(mean + d0 + 16 * c, m[c], _mm512_div_ps(acc[c], count));
  }
}

// One key tile: kn <= kRows keys (row stride D) minus the channel means, quantised with one
// scale s_k over the tile, stored as [D4][kRows] words of 4 signed codes (dims 4 d4 .. 4 d4 + 3;
// zeros past D and past kn), then kRows column sums (int32) and kRows copies of s_k.
// rows: scratch of kRows * 4 * D4 bytes (the codes row by row, transposed by words at the end).
inline void pack_key_tile(const float* k, const float* mean, int kn, int D, int D4, int8_t* rows, uint32_t* dst) {
  // k - mean is computed twice (for the scale, then for the codes): the same value both times.
  __m512 amax = _mm512_setzero_ps();
  for (int j = 0; j < kn; ++j)
    for (int d = 0; d < D; d += 16) {
      const __mmask16 m = lanes(D - d);
      const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, k + static_cast<long>(j) * D + d), _mm512_maskz_loadu_ps(m, mean + d));
      amax = _mm512_max_ps(_mm512_abs_ps(x), amax);
    }
  const Scale scale(_mm512_reduce_max_ps(amax));
  const __m512 inv = _mm512_set1_ps(scale.inv);
  const int row_bytes = 4 * D4;
  int32_t* colsum = reinterpret_cast<int32_t*>(dst + static_cast<std::size_t>(D4) * kRows);
  float* sk = reinterpret_cast<float*>(colsum + kRows);
  for (int j = 0; j < kRows; ++j) {
    int8_t* row = rows + j * row_bytes;
    std::memset(row, 0, row_bytes);  // past D, and whole rows past kn
    __m512i sum = _mm512_setzero_si512();
    if (j < kn)
      for (int d = 0; d < D; d += 16) {
        const __mmask16 m = lanes(D - d);
        const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, k + static_cast<long>(j) * D + d), _mm512_maskz_loadu_ps(m, mean + d));
        const __m512i c = codes(x, inv);
        sum = _mm512_add_epi32(sum, c);
        _mm512_mask_cvtsepi32_storeu_epi8(row + d, m, c);
      }
    colsum[j] = _mm512_reduce_add_epi32(sum);
    sk[j] = scale.s;
  }
  // Word d4 of key j to dst[d4][j]: 16 keys per gather.
  const __m512i key_words = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32(D4));
  for (int j0 = 0; j0 < kRows; j0 += 16)
    for (int d4 = 0; d4 < D4; ++d4) {
      const __m512i idx = _mm512_add_epi32(key_words, _mm512_set1_epi32(j0 * D4 + d4));
      _mm512_store_si512(dst + static_cast<std::size_t>(d4) * kRows + j0, _mm512_i32gather_epi32(idx, rows, 4));
    }
}

// One query tile: n <= kRows rows (row stride D) quantised with one scale s_q, each stored as
// D4 words of 4 unsigned bytes q + 128 (128 past D) and s_q in one more word (row stride D4 + 1).
inline void pack_query_tile(const float* q, int n, int D, int D4, uint32_t* dst) {
  const Scale scale(max_abs(q, static_cast<long>(n) * D));
  const __m512 inv = _mm512_set1_ps(scale.inv);
  const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80));  // x + 128 on a byte: its top bit flipped
  for (int r = 0; r < n; ++r) {
    uint32_t* row = dst + static_cast<std::size_t>(r) * (D4 + 1);
    std::fill(row, row + D4, 0x80808080u);
    for (int d = 0; d < D; d += 16) {
      const __mmask16 m = lanes(D - d);
      const __m512i c = codes(_mm512_maskz_loadu_ps(m, q + static_cast<long>(r) * D + d), inv);
      _mm_mask_storeu_epi8(reinterpret_cast<char*>(row) + d, m, _mm_xor_si128(_mm512_cvtsepi32_epi8(c), bias));
    }
    std::memcpy(row + D4, &scale.s, 4);
  }
}

}  // namespace attn::kernels::int8
