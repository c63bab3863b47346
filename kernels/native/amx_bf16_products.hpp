// The engine's tile products with AMX bf16 (tdpbf16ps): the arithmetic of bf16_products.hpp
// (bf16 inputs rounded to nearest even, float32 accumulation, scores scaled after the dot, P
// rounded to bf16 by the softmax) on 16-row tiles, so AMX agrees with vdpbf16ps and the emulated
// path up to float32 summation order. Masks, modifiers and the online softmax stay the engine's.
//
// Layout (bf16_products.hpp's, padded for whole tiles):
//  - Q rows as bf16 pairs [B H Nq][D2p] (D2p = D2 rounded up to 16 pairs = 32 dims, zeros past
//    D), plus 16 zero rows at the end: an A tile always reads 16 rows;
//  - K per key tile as [D2p][64 keys] pairs: a 16 x 16 block of it is a tdpbf16ps B operand
//    (pairs of dims of 16 keys, row stride 256 bytes);
//  - V per key tile as [32 key pairs][Dp] pairs: a 16 x 16 block is the B operand of P.V.
// The engine runs blocks of 16 query rows (kRowBlock); a tile's last rows come in smaller
// blocks, which still run 16-row tiles (the rows past the block are computed and dropped).
#pragma once
#include <cstdint>

#include "amx_qk.hpp"
#include "amx_tiles.hpp"
#include "bf16_products.hpp"

namespace attn::kernels {

namespace amx {
// acc[16][N x 16] (+)= P2[16][key pairs of chunks kc0..kc1) . V2 for N head-dim tiles; P2 is
// [16][32] pairs (row stride 128 bytes), V2 [32][Dp] pairs. kAdd: acc holds 16 rows of O (row
// stride Dp) and the products add into it; otherwise acc is a [16][kTileK] scratch, overwritten.
template <int N, bool kAdd>
[[gnu::noinline]] ATTN_TARGET_AMX void pv_bf16(const uint32_t* p2, int kc0, int kc1, const uint32_t* v, int Dp, float* acc) {
  memory_barrier();
  const long v_stride = static_cast<long>(Dp) * 4, acc_stride = kAdd ? v_stride : kKeyRowBytes;
  if constexpr (kAdd) {
    _tile_loadd(0, acc, acc_stride);
    if constexpr (N > 1) _tile_loadd(1, acc + 16, acc_stride);
    if constexpr (N > 2) _tile_loadd(2, acc + 32, acc_stride);
    if constexpr (N > 3) _tile_loadd(3, acc + 48, acc_stride);
  } else {
    _tile_zero(0);
    if constexpr (N > 1) _tile_zero(1);
    if constexpr (N > 2) _tile_zero(2);
    if constexpr (N > 3) _tile_zero(3);
  }
  for (int kc = kc0; kc < kc1; ++kc) {
    const uint32_t* vb = v + static_cast<std::size_t>(kc) * kTileRows * Dp;
    _tile_loadd(4, p2 + kc * kTileRows, kTileK * 2);
    _tile_loadd(5, vb, v_stride);
    _tile_dpbf16ps(0, 4, 5);
    if constexpr (N > 1) {
      _tile_loadd(6, vb + 16, v_stride);
      _tile_dpbf16ps(1, 4, 6);
    }
    if constexpr (N > 2) {
      _tile_loadd(7, vb + 32, v_stride);
      _tile_dpbf16ps(2, 4, 7);
    }
    if constexpr (N > 3) {
      _tile_loadd(5, vb + 48, v_stride);
      _tile_dpbf16ps(3, 4, 5);
    }
  }
  _tile_stored(0, acc, acc_stride);
  if constexpr (N > 1) _tile_stored(1, acc + 16, acc_stride);
  if constexpr (N > 2) _tile_stored(2, acc + 32, acc_stride);
  if constexpr (N > 3) _tile_stored(3, acc + 48, acc_stride);
}

// Calls f.template operator()<n>() for n = 1..4 (tile counts are immediates in the kernels).
template <class F>
inline void with_tiles(int n, F&& f) {
  switch (n) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    default: f(std::integral_constant<int, 4>{}); break;
  }
}

// P rows [0, R) as bf16 pairs for the key chunks [kc0, kc1) of 32 keys, zeros in rows R..15 and
// in the vectors outside [c0, c1) (the softmax left them stale). P is bf16-valued already
// (round_p), so the conversion is exact.
template <int R>
ATTN_TARGET_AMX inline void pack_p(const float* p, int c0, int c1, int kc0, int kc1, uint32_t (*p2)[kTileK / 2]) {
  const __m512 zero = _mm512_setzero_ps();
  for (int r = 0; r < kTileRows; ++r)
    for (int kc = kc0; kc < kc1; ++kc) {
      const int lo = 2 * kc, hi = 2 * kc + 1;
      const __m512 a = r < R && lo >= c0 && lo < c1 ? _mm512_load_ps(p + r * kTileK + lo * 16) : zero;
      const __m512 b = r < R && hi >= c0 && hi < c1 ? _mm512_load_ps(p + r * kTileK + hi * 16) : zero;
      _mm512_store_si512(p2[r] + kc * 16, (__m512i)_mm512_cvtne2ps_pbh(b, a));
    }
}

// O rows [0, R) = alpha O + acc, head dims [d0, d0 + 16 n).
template <int R>
ATTN_TARGET_AMX inline void add_into_o(const float* acc, int n, int d0, int Dp, float* o, const float* alpha) {
  for (int r = 0; r < R; ++r) {
    const __m512 ar = alpha ? _mm512_load_ps(alpha + r * 16) : _mm512_set1_ps(1.0f);
    for (int c = 0; c < n; ++c) {
      float* dst = o + static_cast<std::size_t>(r) * Dp + d0 + c * 16;
      __m512 x = _mm512_load_ps(dst);
      if (alpha) x = _mm512_mul_ps(x, ar);
      _mm512_store_ps(dst, _mm512_add_ps(x, _mm512_load_ps(acc + r * kTileK + c * 16)));
    }
  }
}

// O rows [0, R) *= alpha (a block whose keys are all masked: nothing to add).
template <int R>
ATTN_TARGET_AMX inline void rescale_o(int Dp, float* o, const float* alpha) {
  if (!alpha) return;
  for (int r = 0; r < R; ++r)
    for (int d = 0; d < Dp; d += 16) {
      float* dst = o + static_cast<std::size_t>(r) * Dp + d;
      _mm512_store_ps(dst, _mm512_mul_ps(_mm512_load_ps(dst), _mm512_load_ps(alpha + r * 16)));
    }
}

// The engine's P.V for rows [0, R) with AMX: P packed to pairs, then per 64 head dims
// tdpbf16ps straight into O's 16 rows (rescaled first) for a whole block, or into a scratch
// added into O's R rows for a smaller one (O's rows past R belong to other blocks).
template <int R>
ATTN_TARGET_AMX inline void pv_rows(const float* p, int jb, int je, const uint32_t* vt, int Dp, float* o,
                                    const float* alpha) {
  const int kc0 = jb / 32, kc1 = (je + 31) / 32;
  if (kc0 >= kc1 || R == kTileRows) rescale_o<R>(Dp, o, alpha);
  if (kc0 >= kc1) return;
  alignas(64) uint32_t p2[kTileRows][kTileK / 2];
  pack_p<R>(p, jb / 16, (je + 15) / 16, kc0, kc1, p2);
  if constexpr (R == kTileRows) {
    for (int d0 = 0; d0 < Dp; d0 += 64)
      with_tiles(std::min(4, (Dp - d0) / 16),
                 [&](auto N) { pv_bf16<decltype(N)::value, true>(&p2[0][0], kc0, kc1, vt + d0, Dp, o + d0); });
  } else {
    alignas(64) float acc[kTileRows * kTileK];
    for (int d0 = 0; d0 < Dp; d0 += 64) {
      const int n = std::min(4, (Dp - d0) / 16);
      with_tiles(n, [&](auto N) { pv_bf16<decltype(N)::value, false>(&p2[0][0], kc0, kc1, vt + d0, Dp, acc); });
      add_into_o<R>(acc, n, d0, Dp, o, alpha);
    }
  }
}
}  // namespace amx

template <class V>
struct AmxBf16Products {
  using Vec = V;
  using QElem = uint32_t;
  using KElem = uint32_t;
  using VElem = uint32_t;
  using Operands = EngineOperands<uint32_t, uint32_t, uint32_t>;
  using ThreadScope = amx::ThreadScope;
  static constexpr int kRowBlock = amx::kTileRows, kRowGroup = 1;
  static_assert(Blocking<V>::W == 16, "AVX-512 only");

  // The vdpbf16ps path's packing with pairs padded to whole A tiles (32 dims) and 16 zero query
  // rows at the end (an A tile always reads 16 rows).
  using Base = Bf16Products<V, amx::kTileRows, amx::kTileRows>;
  static EngineLayout layout(const Problem& P) { return Base::layout(P); }
  static Operands pack(const Problem& P, const Tensors& in, const EngineLayout& l, char* base, int threads) {
    return Base::pack(P, in, l, base, threads);
  }

  // Scores of rows [0, R) for key columns [cb, ce) (whole vectors), scaled after the dot.
  template <int R>
  static void qk_cols(const uint32_t* q, std::size_t q_row, const uint32_t* kt, int cb, int ce, float* s, float scale) {
    const int n = (ce - cb) / 16;
    if (n == 0) return;
    alignas(64) float tmp[R < amx::kTileRows ? amx::kTileRows * kTileK : 1];
    float* c = R < amx::kTileRows ? tmp : s;  // 16 rows of results; s holds only R
    const long stride = static_cast<long>(q_row) * 4;
    const int chunks = static_cast<int>(q_row) / amx::kTileRows;
    amx::with_tiles(n, [&](auto N) { amx::qk_tiles<amx::TileDotBf16, decltype(N)::value>(q, stride, chunks, kt + cb, c + cb); });
    scale_rows<R>(c, s, cb, ce, scale);
  }

  template <int R>
  static void pv_rows(const float* p, int jb, int je, const uint32_t* vt, int Dp, float* o, const float* alpha) {
    amx::pv_rows<R>(p, jb, je, vt, Dp, o, alpha);
  }

 private:
  template <int R>
  ATTN_TARGET_AMX static void scale_rows(const float* c, float* s, int cb, int ce, float scale) {
    const __m512 sc = _mm512_set1_ps(scale);
    for (int r = 0; r < R; ++r)
      for (int j = cb; j < ce; j += 16)
        _mm512_store_ps(s + r * kTileK + j, _mm512_mul_ps(_mm512_load_ps(c + r * kTileK + j), sc));
  }
};

template <class Arch>
void masked_attention_amx_bf16(const MaskedAttentionArgs& a) {
  masked_attention_with<AmxBf16Products<simd::Vec<Arch>>>(a);
}
template <class Arch>
std::size_t masked_attention_amx_bf16_workspace(const Problem& p, int threads) {
  return AmxBf16Products<simd::Vec<Arch>>::layout(p).total(threads);
}

}  // namespace attn::kernels
