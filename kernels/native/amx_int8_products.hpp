// The engine's int8 products on AMX: Q.K^T with tdpbusd on int8_products.hpp's quantisation
// (the same unsigned Q bytes q + 128, signed K bytes and column sums: the same exact integers as
// vpdpbusd, the same float32 dequantisation), and P.V with tdpbf16ps on V's int8 codes, which
// bf16 holds exactly, times V's per-channel scale (SPEC "int8": P rounded to bf16, float32
// accumulation).
//
// V arrives as store_inputs leaves it: codes times one scale per (kv head, channel), over all
// Nk keys. pack() (timed) recovers the scale as max|v| / 127 of each channel (the code of the
// largest value is +-127) and the codes as round(v / scale), exact integers; per key tile it
// stores [32 key pairs][Dp] bf16 pairs of codes followed by the Dp channel scales. O accumulates
// P . codes over the key tiles (with the engine's row rescales) and is multiplied by scale_d
// once at the end (finish_rows): float32 rounding away from the emulated sum of P . (code scale).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "amx_bf16_products.hpp"
#include "int8_products.hpp"

namespace attn::kernels {

namespace amx {
// Scores of rows [0, R), columns [cb, ce): (dot - 128 colsum) s_k (s_q kscale), as
// int8::qk_block dequantises them. acc: the int32 dots (row stride kTileK); q: row 0's words.
template <int R>
ATTN_TARGET_AMX inline void dequantize_scores(const int32_t* acc, const uint32_t* q, int q_row, const uint32_t* kt,
                                              int cb, int ce, float* s, float kscale) {
  const int D4 = q_row - 1;
  const uint32_t* colsum = kt + static_cast<std::size_t>(D4) * kTileK;
  const float* sk = reinterpret_cast<const float*>(colsum + kTileK);
  for (int r = 0; r < R; ++r) {
    float sq;
    std::memcpy(&sq, q + r * q_row + D4, 4);
    const __m512 row_scale = _mm512_set1_ps(sq * kscale);
    for (int j = cb; j < ce; j += 16) {
      const __m512i comp = _mm512_slli_epi32(_mm512_load_si512(colsum + j), 7);
      const __m512 dots = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(acc + r * kTileK + j), comp));
      _mm512_store_ps(s + r * kTileK + j, _mm512_mul_ps(_mm512_mul_ps(dots, _mm512_load_ps(sk + j)), row_scale));
    }
  }
}

// V's channel scales of one kv head (nk rows, stride D): max|v| / 127 per channel (0 past D).
// Up to 128 channels per pass over the rows.
ATTN_TARGET_AMX inline void value_scales(const float* v, long nk, int D, int Dp, float* scale) {
  for (int d0 = 0; d0 < Dp; d0 += 128) {
    __mmask16 m[8];
    __m512 amax[8];
    for (int c = 0; c < 8; ++c) m[c] = int8::lanes(D - d0 - 16 * c), amax[c] = _mm512_setzero_ps();
    for (long j = 0; j < nk; ++j)
      for (int c = 0; c < 8; ++c)
        amax[c] = _mm512_max_ps(amax[c], _mm512_abs_ps(_mm512_maskz_loadu_ps(m[c], v + j * D + d0 + 16 * c)));
    for (int c = 0; c < 8 && d0 + 16 * c < Dp; ++c)
      _mm512_storeu_ps(scale + d0 + 16 * c, _mm512_div_ps(amax[c], _mm512_set1_ps(127.0f)));
  }
}

// Value tile: kn <= 64 rows into [32][Dp] pairs of codes round(v / scale), then the Dp scales.
ATTN_TARGET_AMX inline void pack_value_codes(const float* src, int kn, int D, int Dp, const float* scale, uint32_t* dst) {
  for (int d = 0; d < Dp; d += 16) {
    const __mmask16 m = int8::lanes(D - d);
    const __m512 s = _mm512_loadu_ps(scale + d);
    // 127 / max|v|, 0 for an all-zero channel (its codes are 0).
    const __mmask16 nz = _mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_NEQ_OQ);
    const __m512 inv = _mm512_maskz_div_ps(nz, _mm512_set1_ps(1.0f), s);
    const auto codes = [&](int j) {
      if (j >= kn) return _mm512_setzero_ps();
      const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, src + static_cast<long>(j) * D + d), inv);
      return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    };
    for (int jp = 0; jp < kTileK / 2; ++jp)
      _mm512_store_si512(dst + static_cast<std::size_t>(jp) * Dp + d, bf16::pair(codes(2 * jp), codes(2 * jp + 1)));
  }
  std::memcpy(dst + static_cast<std::size_t>(kTileK / 2) * Dp, scale, sizeof(float) * Dp);
}
// O[r][d] *= scale[d] for rows [0, rows).
ATTN_TARGET_AMX inline void scale_columns(const float* scale, float* o, int rows, int Dp) {
  for (int r = 0; r < rows; ++r)
    for (int d = 0; d < Dp; d += 16) {
      float* dst = o + static_cast<std::size_t>(r) * Dp + d;
      _mm512_store_ps(dst, _mm512_mul_ps(_mm512_load_ps(dst), _mm512_loadu_ps(scale + d)));
    }
}
}  // namespace amx

template <class V>
struct AmxInt8Products {
  using Base = Int8Products<V, amx::kTileRows>;  // quads padded to whole A tiles (64 dims)
  using Vec = V;
  using QElem = uint32_t;
  using KElem = uint32_t;
  using VElem = uint32_t;
  using Operands = EngineOperands<uint32_t, uint32_t, uint32_t>;
  using ThreadScope = amx::ThreadScope;
  static constexpr int kRowBlock = amx::kTileRows, kRowGroup = 1;

  static std::size_t v_tile_words(int Dp) { return static_cast<std::size_t>(kTileK / 2 + 1) * Dp; }

  // Base's K and Q regions (Q with 16 spare rows for the A tile), V as code pairs per tile, then
  // every kv head's channel scales; Base's per-thread scratch.
  static EngineLayout layout(const Problem& P) {
    EngineLayout l = Base::layout(P);
    const std::size_t heads = static_cast<std::size_t>(P.B) * P.Hkv;
    l.pack_v = false;  // Base packs no float V: pack() packs the codes
    l.Dp = round_up(P.D, 16);
    l.v_bytes = EngineLayout::align(sizeof(uint32_t) * heads * l.k_tiles * v_tile_words(l.Dp)) +
                EngineLayout::align(sizeof(float) * heads * l.Dp);
    l.q_bytes += EngineLayout::align(sizeof(uint32_t) * amx::kTileRows * (Base::quads(P.D) + 1));
    return l;
  }

  static Operands pack(const Problem& P, const Tensors& in, const EngineLayout& l, char* base, int threads) {
    const typename Base::Operands qk = Base::pack(P, in, l, base, threads);
    Operands ops;
    ops.q = qk.q, ops.q_row = qk.q_row;
    ops.kt = qk.kt, ops.kt_tile = qk.kt_tile, ops.kt_head = qk.kt_head;
    ops.Dp = l.Dp;
    ops.score_scale = qk.score_scale;
    uint32_t* v = reinterpret_cast<uint32_t*>(base + l.kt_bytes);
    ops.v = v, ops.v_tile = v_tile_words(l.Dp), ops.v_head = ops.v_tile * l.k_tiles;
    const long heads = static_cast<long>(P.B) * P.Hkv, tasks = heads * l.k_tiles;
    float* scales = reinterpret_cast<float*>(base + l.kt_bytes +
                                             EngineLayout::align(sizeof(uint32_t) * heads * l.k_tiles * ops.v_tile));
    // Q rows past the last one (read by 16-row A tiles, never used): defined bytes.
    uint32_t* q_end = const_cast<uint32_t*>(qk.q) + static_cast<std::size_t>(P.B) * P.H * P.Nq * qk.q_row;
    std::fill(q_end, q_end + amx::kTileRows * qk.q_row, 0x80808080u);
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(static)
      for (long head = 0; head < heads; ++head)
        amx::value_scales(in.v + head * P.Nk * P.D, P.Nk, P.D, l.Dp, scales + head * l.Dp);
#pragma omp for schedule(static)
      for (long t = 0; t < tasks; ++t) {
        const long head = t / l.k_tiles;
        const int tile = static_cast<int>(t % l.k_tiles);
        const long k0 = static_cast<long>(tile) * kTileK;
        const int kn = static_cast<int>(std::min<long>(kTileK, P.Nk - k0));
        amx::pack_value_codes(in.v + (head * P.Nk + k0) * P.D, kn, P.D, l.Dp, scales + head * l.Dp,
                              v + head * ops.v_head + tile * ops.v_tile);
      }
    }
    return ops;
  }

  template <int R>
  static void qk_cols(const uint32_t* q, std::size_t q_row, const uint32_t* kt, int cb, int ce, float* s, float kscale) {
    const int n = (ce - cb) / 16;
    if (n == 0) return;
    alignas(64) int32_t acc[amx::kTileRows * kTileK];
    const int qr = static_cast<int>(q_row), chunks = (qr - 1) / amx::kTileRows;
    amx::with_tiles(n, [&](auto N) { amx::qk_tiles<amx::TileDotInt8, decltype(N)::value>(q, qr * 4L, chunks, kt + cb, acc + cb); });
    amx::dequantize_scores<R>(acc, q, qr, kt, cb, ce, s, kscale);
  }

  // O accumulates P . codes (linear: the row rescales commute with the channel scale)...
  template <int R>
  static void pv_rows(const float* p, int jb, int je, const uint32_t* vt, int Dp, float* o, const float* alpha) {
    amx::pv_rows<R>(p, jb, je, vt, Dp, o, alpha);
  }
  // ... and takes the channel scales (every tile of the head carries them: tile 0's) at the end.
  static void finish_rows(const uint32_t* v_head, float* o, int rows, int Dp) {
    amx::scale_columns(reinterpret_cast<const float*>(v_head + static_cast<std::size_t>(kTileK / 2) * Dp), o, rows, Dp);
  }
};

template <class Arch>
void masked_attention_amx_int8(const MaskedAttentionArgs& a) {
  masked_attention_with<AmxInt8Products<simd::Vec<Arch>>>(a);
}
template <class Arch>
std::size_t masked_attention_amx_int8_workspace(const Problem& p, int threads) {
  return AmxInt8Products<simd::Vec<Arch>>::layout(p).total(threads);
}

}  // namespace attn::kernels
