// The engine's Q.K^T with AVX512-VNNI (vpdpbusd, u8 x s8 -> int32), SageAttention's recipe as
// SPEC "int8" states it, for every softmax variant through kernels/masked_attention.hpp.
//
// Per call, in pack() (timed: a model must do it at every call), from the float32 Q and K:
//  - K smoothed by its per-channel mean over the valid keys of each kv head, then quantised
//    per key tile (kInt8Block = kTileK = 64 rows, s_k = max|x| / 127), packed as [D4][64 keys]
//    words of 4 signed bytes (D4 = ceil(D / 4), zeros past D and past Nk), followed by the
//    tile's 64 column sums (int32) and 64 copies of s_k;
//  - Q quantised per query tile (64 rows, s_q), stored as unsigned bytes q + 128 ([D4] words
//    per row, 128 past D) and the row's s_q in one more word.
// Scores: (sum u8 * s8 - 128 colsum) s_q s_k scale log2(e): exact integers, one float32
// rounding chain. The rounding and block choices are variants/precision.cpp's quantize_qk_int8,
// operation for operation, so the integers equal the emulated path's.
// P.V is the float32 engine's on V as stored (int8 values times the per-channel scale) with P
// rounded to bf16: the emulated arithmetic. (vdpbf16ps on V's integers would be the SPEC form,
// but on Sapphire Rapids it runs at half the FMA rate: `attnbench peak --dtype bf16`.)
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../masked_attention.hpp"
#include "int8_pack.hpp"
#include "target.hpp"

namespace attn::kernels {

namespace int8 {
// S[r][C vectors] of R rows; kt points at key column c of a packed tile, q at row 0's words.
template <int R, int C>
[[gnu::noinline]] ATTN_TARGET_BF16 void qk_block(const uint32_t* q, int q_row, const uint32_t* kt, float* s, float kscale) {
  const int D4 = q_row - 1;
  __m512i acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_si512();
  for (int d = 0; d < D4; ++d) {
    __m512i kv[C];
    ATTN_UNROLL for (int c = 0; c < C; ++c) kv[c] = _mm512_load_si512(kt + static_cast<std::size_t>(d) * kTileK + c * 16);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const __m512i qb = _mm512_set1_epi32(static_cast<int>(q[r * q_row + d]));
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], qb, kv[c]);
    }
  }
  const uint32_t* colsum = kt + static_cast<std::size_t>(D4) * kTileK;
  const float* sk = reinterpret_cast<const float*>(colsum + kTileK);
  ATTN_UNROLL for (int c = 0; c < C; ++c) {
    const __m512i comp = _mm512_slli_epi32(_mm512_load_si512(colsum + c * 16), 7);  // 128 colsum
    const __m512 skc = _mm512_load_ps(sk + c * 16);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      float sq;
      std::memcpy(&sq, q + r * q_row + D4, 4);
      const __m512 dots = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][c], comp));
      _mm512_store_ps(s + r * kTileK + c * 16, _mm512_mul_ps(_mm512_mul_ps(dots, skc), _mm512_set1_ps(sq * kscale)));
    }
  }
}

}  // namespace int8

// kQuadAlign: D4 rounded up to a multiple of it (zero key bytes, 128 query bytes past D); the
// AMX products (amx_int8_products.hpp) pack 64 dims per tile row with 16.
template <class V, int kQuadAlign = 1>
struct Int8Products {
  using Vec = V;
  using QElem = uint32_t;
  using KElem = uint32_t;
  using VElem = float;
  using Operands = EngineOperands<uint32_t, uint32_t, float>;
  static_assert(Blocking<V>::W == 16, "AVX-512 only");
  static_assert(kTileK == int8::kRows && kTileQ == int8::kRows, "quantisation blocks are the engine's tiles");

  static int quads(int D) { return ((D + 3) / 4 + kQuadAlign - 1) / kQuadAlign * kQuadAlign; }
  static std::size_t tile_words(int D) { return (static_cast<std::size_t>(quads(D)) + 2) * kTileK; }
  // Per thread, after the tile scratch: a key tile's codes row by row (int8::pack_key_tile).
  static std::size_t scratch_bytes(const Problem& P) {
    return EngineLayout::align(static_cast<std::size_t>(kTileK) * 4 * quads(P.D));
  }

  static EngineLayout layout(const Problem& P) {
    EngineLayout l = F32Products<V>::layout(P);  // V as the float32 engine reads it
    const std::size_t heads = static_cast<std::size_t>(P.B) * P.Hkv;
    l.kt_bytes = EngineLayout::align(sizeof(uint32_t) * heads * l.k_tiles * tile_words(P.D));
    // Q rows (quads + the row's scale), then each kv head's channel means.
    l.q_bytes = EngineLayout::align(sizeof(uint32_t) * static_cast<std::size_t>(P.B) * P.H * P.Nq * (quads(P.D) + 1)) +
                EngineLayout::align(sizeof(float) * heads * P.D);
    l.thread_bytes += scratch_bytes(P);
    return l;
  }

  static Operands pack(const Problem& P, const Tensors& in, const EngineLayout& l, char* base, int threads) {
    const int D = P.D, D4 = quads(D);
    Operands ops;
    uint32_t* kt = reinterpret_cast<uint32_t*>(base);
    float* vp = l.pack_v ? reinterpret_cast<float*>(base + l.kt_bytes) : nullptr;
    uint32_t* q = reinterpret_cast<uint32_t*>(base + l.kt_bytes + l.v_bytes);
    const std::size_t q_words = static_cast<std::size_t>(P.B) * P.H * P.Nq * (D4 + 1);
    float* means = reinterpret_cast<float*>(reinterpret_cast<char*>(q) + EngineLayout::align(sizeof(uint32_t) * q_words));
    ops.q = q, ops.q_row = static_cast<std::size_t>(D4) + 1;
    ops.kt = kt, ops.kt_tile = tile_words(D), ops.kt_head = ops.kt_tile * l.k_tiles;
    ops.Dp = l.Dp;
    ops.score_scale = P.effective_scale() * 1.4426950408889634f;
    ops.v = vp ? vp : in.v;
    ops.v_tile = static_cast<std::size_t>(kTileK) * l.Dp;
    ops.v_head = (l.pack_v ? static_cast<std::size_t>(l.k_tiles) * kTileK : static_cast<std::size_t>(P.Nk)) * l.Dp;
    const long kv_heads = static_cast<long>(P.B) * P.Hkv, q_tiles = (P.Nq + kTileQ - 1) / kTileQ;
    const long q_tasks = static_cast<long>(P.B) * P.H * q_tiles, k_tasks = kv_heads * l.k_tiles;
#pragma omp parallel num_threads(threads)
    {
      int8_t* rows = reinterpret_cast<int8_t*>(base + l.threads_offset() + l.thread_bytes * omp_get_thread_num() +
                                               TileScratch<V>::bytes(l.Dp));
      // Channel means over each kv head's valid keys, summed in key order (as quantize_qk_int8).
#pragma omp for schedule(static)
      for (long head = 0; head < kv_heads; ++head)
        int8::key_means(in.k + head * P.Nk * D, P.valid_k(static_cast<int>(head / P.Hkv)), D, means + head * D);
#pragma omp for schedule(static) nowait
      for (long t = 0; t < k_tasks; ++t) {
        const long head = t / l.k_tiles;
        const int tile = static_cast<int>(t % l.k_tiles);
        const long k0 = static_cast<long>(tile) * kTileK;
        const int kn = static_cast<int>(std::min<long>(kTileK, P.Nk - k0));
        int8::pack_key_tile(in.k + (head * P.Nk + k0) * D, means + head * D, kn, D, D4, rows,
                            kt + head * ops.kt_head + tile * ops.kt_tile);
        if (l.pack_v) {
          pack_value_tile(in.v + (head * P.Nk + k0) * D, kn, D, l.Dp, vp + head * ops.v_head + tile * ops.v_tile);
        }
      }
#pragma omp for schedule(static)
      for (long t = 0; t < q_tasks; ++t) {
        const long head = t / q_tiles, r0 = t % q_tiles * kTileQ;
        const int n = static_cast<int>(std::min<long>(kTileQ, P.Nq - r0));
        int8::pack_query_tile(in.q + (head * P.Nq + r0) * D, n, D, D4, q + (head * P.Nq + r0) * ops.q_row);
      }
    }
    return ops;
  }

  template <int R>
  static void qk_cols(const uint32_t* q, std::size_t q_row, const uint32_t* kt, int cb, int ce, float* s, float kscale) {
    const int qr = static_cast<int>(q_row);
    int c = cb;
    for (; c + 64 <= ce; c += 64) int8::qk_block<R, 4>(q, qr, kt + c, s + c, kscale);
    if (c + 32 <= ce) int8::qk_block<R, 2>(q, qr, kt + c, s + c, kscale), c += 32;
    for (; c < ce; c += 16) int8::qk_block<R, 1>(q, qr, kt + c, s + c, kscale);
  }

  template <int R>
  static void pv_rows(const float* p, int jb, int je, const float* vt, int Dp, float* o, const float* alpha) {
    F32Products<V>::template pv_rows<R>(p, jb, je, vt, Dp, o, alpha);
  }
};

template <class Arch>
void masked_attention_int8(const MaskedAttentionArgs& a) {
  masked_attention_with<Int8Products<simd::Vec<Arch>>>(a);
}
template <class Arch>
std::size_t masked_attention_int8_workspace(const Problem& p, int threads) {
  return Int8Products<simd::Vec<Arch>>::layout(p).total(threads);
}

}  // namespace attn::kernels
