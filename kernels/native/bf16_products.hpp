// The engine's tile products with AVX512-BF16 (vdpbf16ps): bf16 pairs multiplied, float32
// accumulation; masks, the float32 online softmax and scheduling are the engine's
// (kernels/masked_attention.hpp), so every softmax variant gets this path.
//
// Per call (all in the plan's workspace, nothing allocated):
//  - Q rows as bf16 pairs along D: [B H Nq][D2] (D2 = ceil(D / 2), an odd D padded with 0);
//  - K per key tile as [D2][64 keys] pairs, so one vector holds 16 keys x one pair of dims
//    and a broadcast Q pair multiplies it (the f32 engine's [D][64] layout, two dims per lane);
//  - V per key tile as [32 key pairs][Dp] pairs, pairs along the keys, so a broadcast pair of
//    probabilities multiplies 16 head dims; keys past Nk and dims past D are zeros.
// Values are rounded to bf16 to nearest even (as round_to_bf16 does: the stored inputs are
// bf16 already, so this is exact), the scores scaled by scale log2(e) in float32 after the dot
// (not folded into K, which would round differently), and P, which the softmax has rounded to
// bf16 (round_p_bf16), converted exactly. vdpbf16ps treats bf16 subnormals as zero.
#pragma once
#include <cstdint>
#include <cstring>

#include "../masked_attention.hpp"
#include "target.hpp"

namespace attn::kernels {

namespace bf16 {
// bf16 bits of 16 floats in the high halves of 32-bit lanes (round to nearest even; the low
// halves are left as they are).
ATTN_TARGET_BF16 inline __m512i round_high(__m512 x) {
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  return _mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
}
// Pairs (lo[i], hi[i]) of 16 lanes: lo in the low half, hi in the high half.
ATTN_TARGET_BF16 inline __m512i pair(__m512 lo, __m512 hi) {
  return _mm512_or_si512(_mm512_srli_epi32(round_high(lo), 16),
                         _mm512_and_si512(round_high(hi), _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}
// n <= 32 floats of a row as n/2 rounded-up pairs of neighbours (x[2i], x[2i+1]); x[n] reads as
// 0 for an odd n.
ATTN_TARGET_BF16 inline void pack_row_pairs(const float* x, int n, uint32_t* out) {
  const __mmask16 m = static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
  const __m512i r = _mm512_srli_epi32(round_high(_mm512_maskz_loadu_ps(m, x)), 16);
  // vpmovdw keeps the low 16 bits of each lane: neighbours land in one 32-bit pair.
  const __m256i halves = _mm512_cvtepi32_epi16(r);
  const int pairs = (std::min(n, 16) + 1) / 2;
  _mm256_mask_storeu_epi32(out, static_cast<__mmask8>((1u << pairs) - 1), halves);
}
ATTN_TARGET_BF16 inline void pack_pairs(const float* x, int n, uint32_t* out) {
  for (int i = 0; i < n; i += 16) pack_row_pairs(x + i, n - i, out + i / 2);
}

// S[r][C vectors] = score_scale * sum_d2 Q2[r][d2] . K2[d2][C vectors] for R rows.
template <int R, int C>
[[gnu::noinline]] ATTN_TARGET_BF16 void qk_block(const uint32_t* q, int D2, const uint32_t* kt, float* s, float scale) {
  __m512 acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int d = 0; d < D2; ++d) {
    __m512bh kv[C];
    ATTN_UNROLL for (int c = 0; c < C; ++c)
      kv[c] = (__m512bh)_mm512_load_si512(kt + static_cast<std::size_t>(d) * kTileK + c * 16);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const __m512bh qb = (__m512bh)_mm512_set1_epi32(static_cast<int>(q[r * D2 + d]));
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qb, kv[c]);
    }
  }
  const __m512 sc = _mm512_set1_ps(scale);
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) _mm512_store_ps(s + r * kTileK + c * 16, _mm512_mul_ps(acc[r][c], sc));
}

// O[r][C vectors] = alpha[r] O[r] + sum_{pb <= jp < pe} P2[r][jp] . V2[jp][C vectors] for R rows;
// P2 has row stride kTileK / 2 pairs, V2 row stride Dp pairs.
template <int R, int C>
[[gnu::noinline]] ATTN_TARGET_BF16 void pv_block(const uint32_t* p, int pb, int pe, const uint32_t* v, int Dp, float* o,
                                                 const float* alpha) {
  __m512 acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r) {
    const __m512 ar = alpha ? _mm512_load_ps(alpha + r * 16) : _mm512_set1_ps(1.0f);
    ATTN_UNROLL for (int c = 0; c < C; ++c) {
      acc[r][c] = _mm512_load_ps(o + r * Dp + c * 16);
      if (alpha) acc[r][c] = _mm512_mul_ps(acc[r][c], ar);
    }
  }
  for (int j = pb; j < pe; ++j) {
    __m512bh vv[C];
    ATTN_UNROLL for (int c = 0; c < C; ++c) vv[c] = (__m512bh)_mm512_load_si512(v + static_cast<std::size_t>(j) * Dp + c * 16);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const __m512bh pr = (__m512bh)_mm512_set1_epi32(static_cast<int>(p[r * (kTileK / 2) + j]));
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], pr, vv[c]);
    }
  }
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) _mm512_store_ps(o + r * Dp + c * 16, acc[r][c]);
}

// Key tile: kn <= 64 rows of K (row stride D) into [D2][64] pairs, zeros past kn and D. Goes
// through the f32 engine's register transpose into tmp ([D][64] floats, aligned).
template <class V>
ATTN_TARGET_BF16 inline void pack_key_tile(const float* src, int kn, int D, float* tmp, uint32_t* dst) {
  kernels::pack_key_tile<V>(src, kn, D, 1.0f, tmp);
  const __m512 zero = _mm512_setzero_ps();
  for (int d = 0; d < D; d += 2) {
    const float* lo = tmp + static_cast<std::size_t>(d) * kTileK;
    const float* hi = d + 1 < D ? lo + kTileK : nullptr;
    for (int c = 0; c < kTileK; c += 16)
      _mm512_store_si512(dst + static_cast<std::size_t>(d / 2) * kTileK + c,
                         pair(_mm512_load_ps(lo + c), hi ? _mm512_load_ps(hi + c) : zero));
  }
}

// Value tile: kn <= 64 rows of V (row stride D) into [32][Dp] pairs along the keys.
ATTN_TARGET_BF16 inline void pack_value_tile(const float* src, int kn, int D, int Dp, uint32_t* dst) {
  for (int jp = 0; jp < kTileK / 2; ++jp) {
    const int j = 2 * jp;
    for (int d = 0; d < Dp; d += 16) {
      const __mmask16 m = static_cast<__mmask16>(D - d >= 16 ? 0xFFFF : D - d > 0 ? (1u << (D - d)) - 1 : 0);
      const __m512 lo = j < kn ? _mm512_maskz_loadu_ps(m, src + static_cast<long>(j) * D + d) : _mm512_setzero_ps();
      const __m512 hi = j + 1 < kn ? _mm512_maskz_loadu_ps(m, src + static_cast<long>(j + 1) * D + d) : _mm512_setzero_ps();
      _mm512_store_si512(dst + static_cast<std::size_t>(jp) * Dp + d, pair(lo, hi));
    }
  }
}

// Key and value tile `tile` of kv head `head`: K into [D2p][64] pairs (zero pairs from
// ceil(D / 2) on: the AMX path pads to whole tiles), V into [32][Dp] pairs. tmp: [D][64] floats.
template <class V>
ATTN_TARGET_BF16 inline void pack_kv_tile(const Problem& P, const Tensors& in, long head, int tile, int D2p, int Dp,
                                          float* tmp, uint32_t* kdst, uint32_t* vdst) {
  const long k0 = static_cast<long>(tile) * kTileK;
  const int kn = static_cast<int>(std::min<long>(kTileK, P.Nk - k0)), D = P.D, D2 = (D + 1) / 2;
  const std::size_t src = (head * P.Nk + k0) * D;
  pack_key_tile<V>(in.k + src, kn, D, tmp, kdst);
  std::memset(kdst + static_cast<std::size_t>(D2) * kTileK, 0, sizeof(uint32_t) * (D2p - D2) * kTileK);
  pack_value_tile(in.v + src, kn, D, Dp, vdst);
}
}  // namespace bf16

// The products type for masked_attention_with (AVX-512 vectors; R x 4-vector blocks like f32).
// kPairAlign: pairs per row rounded up to a multiple of it (zero pairs past D); kSpareQRows: zero
// query rows after the last one. The AMX products (amx_bf16_products.hpp) pack with 16 and 16:
// whole 32-dim A tiles, and 16-row A tiles that may start at the last row.
template <class V, int kPairAlign = 1, int kSpareQRows = 0>
struct Bf16Products {
  using Vec = V;
  using QElem = uint32_t;
  using KElem = uint32_t;
  using VElem = uint32_t;
  using Operands = EngineOperands<uint32_t, uint32_t, uint32_t>;
  static_assert(Blocking<V>::W == 16, "AVX-512 only");

  static int pairs(int D) { return round_up((D + 1) / 2, kPairAlign); }
  // Per thread: the tile scratch, then [D][64] floats for packing a key tile.
  static std::size_t tile_scratch_bytes(int Dp) { return TileScratch<V>::bytes(Dp); }

  static EngineLayout layout(const Problem& P) {
    EngineLayout l;
    l.k_tiles = (P.Nk + kTileK - 1) / kTileK;
    l.pack_v = true;
    l.Dp = (P.D + 15) / 16 * 16;
    const std::size_t heads = static_cast<std::size_t>(P.B) * P.Hkv, D2 = pairs(P.D);
    l.kt_bytes = EngineLayout::align(sizeof(uint32_t) * heads * l.k_tiles * kTileK * D2);
    l.v_bytes = EngineLayout::align(sizeof(uint32_t) * heads * l.k_tiles * (kTileK / 2) * l.Dp);
    l.q_bytes = EngineLayout::align(sizeof(uint32_t) * (static_cast<std::size_t>(P.B) * P.H * P.Nq + kSpareQRows) * D2);
    l.thread_bytes = tile_scratch_bytes(l.Dp) + EngineLayout::align(sizeof(float) * kTileK * P.D);
    return l;
  }

  static Operands pack(const Problem& P, const Tensors& in, const EngineLayout& l, char* base, int threads) {
    const int D = P.D, D2 = (D + 1) / 2, D2p = pairs(D);
    Operands ops;
    uint32_t* kt = reinterpret_cast<uint32_t*>(base);
    uint32_t* v = reinterpret_cast<uint32_t*>(base + l.kt_bytes);
    uint32_t* q = reinterpret_cast<uint32_t*>(base + l.kt_bytes + l.v_bytes);
    ops.q = q, ops.q_row = D2p;
    ops.kt = kt, ops.kt_tile = static_cast<std::size_t>(kTileK) * D2p, ops.kt_head = ops.kt_tile * l.k_tiles;
    ops.v = v, ops.v_tile = static_cast<std::size_t>(kTileK / 2) * l.Dp, ops.v_head = ops.v_tile * l.k_tiles;
    ops.Dp = l.Dp;
    ops.score_scale = P.effective_scale() * 1.4426950408889634f;
    const long kv_tasks = static_cast<long>(P.B) * P.Hkv * l.k_tiles, q_rows = static_cast<long>(P.B) * P.H * P.Nq;
#pragma omp parallel num_threads(threads)
    {
      float* tmp = reinterpret_cast<float*>(base + l.threads_offset() + l.thread_bytes * omp_get_thread_num() +
                                            tile_scratch_bytes(l.Dp));
#pragma omp for schedule(static) nowait
      for (long t = 0; t < kv_tasks; ++t) {
        const long head = t / l.k_tiles;
        const int tile = static_cast<int>(t % l.k_tiles);
        bf16::pack_kv_tile<V>(P, in, head, tile, D2p, l.Dp, tmp, kt + head * ops.kt_head + tile * ops.kt_tile,
                              v + head * ops.v_head + tile * ops.v_tile);
      }
#pragma omp for schedule(static)
      for (long i = 0; i < q_rows + kSpareQRows; ++i) {
        uint32_t* row = q + i * D2p;
        const int packed = i < q_rows ? D2 : 0;
        if (packed) bf16::pack_pairs(in.q + i * D, D, row);
        std::memset(row + packed, 0, sizeof(uint32_t) * (D2p - packed));
      }
    }
    return ops;
  }

  // Blocks of 4 vectors of keys, then 2, then 1 (keys a band masks for the block cost nothing).
  template <int R>
  static void qk_cols(const uint32_t* q, std::size_t q_row, const uint32_t* kt, int cb, int ce, float* s, float scale) {
    const int D2 = static_cast<int>(q_row);
    int c = cb;
    for (; c + 64 <= ce; c += 64) bf16::qk_block<R, 4>(q, D2, kt + c, s + c, scale);
    if (c + 32 <= ce) bf16::qk_block<R, 2>(q, D2, kt + c, s + c, scale), c += 32;
    for (; c < ce; c += 16) bf16::qk_block<R, 1>(q, D2, kt + c, s + c, scale);
  }

  // P rows [jb, je) as bf16 pairs (the softmax left zeros on masked keys inside whole vectors,
  // so widening to even bounds adds only zero probabilities), then vdpbf16ps over head dims.
  template <int R>
  static void pv_rows(const float* p, int jb, int je, const uint32_t* vt, int Dp, float* o, const float* alpha) {
    alignas(64) uint32_t p2[R][kTileK / 2];
    const int pb = jb / 2, pe = (je + 1) / 2;
    const int c0 = jb / 16 * 16, c1 = (je + 15) / 16 * 16;
    for (int r = 0; r < R; ++r)
      for (int c = c0; c < c1; c += 16) bf16::pack_row_pairs(p + r * kTileK + c, 16, p2[r] + c / 2);
    const int nvec = Dp / 16;
    int c = 0;
    for (; c + 4 <= nvec; c += 4) bf16::pv_block<R, 4>(&p2[0][0], pb, pe, vt + c * 16, Dp, o + c * 16, alpha);
    if (c + 2 <= nvec) bf16::pv_block<R, 2>(&p2[0][0], pb, pe, vt + c * 16, Dp, o + c * 16, alpha), c += 2;
    for (; c < nvec; ++c) bf16::pv_block<R, 1>(&p2[0][0], pb, pe, vt + c * 16, Dp, o + c * 16, alpha);
  }
};

template <class Arch>
void masked_attention_bf16(const MaskedAttentionArgs& a) {
  masked_attention_with<Bf16Products<simd::Vec<Arch>>>(a);
}
template <class Arch>
std::size_t masked_attention_bf16_workspace(const Problem& p, int threads) {
  return Bf16Products<simd::Vec<Arch>>::layout(p).total(threads);
}

}  // namespace attn::kernels
