// Decode's few-rows products on AMX (tdpbf16ps) for a bf16 KV cache: the policies of the
// few-rows tile (kernels/decode_rows.hpp) that replace float32 FMAs, where a key costs
// rows x D/16 FMAs for each product plus the widening of K and V, by tile products. With at
// most kDecodeFewRows = 8 rows half of a 16-row tile idles, and it is still far faster.
// The arithmetic is the emulated path's: bf16 inputs (the cache's values; Q and P are
// bf16-valued already: store_inputs rounds Q, the softmax rounds P, round_p), float32
// accumulation. So results differ from the widening path by float32 summation order only.
//  - Q.K^T (AmxBf16KeyQk): the cache's key tile [D][64 keys] is read as B tiles as it lies
//    (16 dims x 32 keys, the keys of a row in pairs), with no rearrangement: A's rows r hold q_r
//    in the low half of each word (they pair with the even keys), rows 8 + r in the high half
//    (the odd keys). C's rows r and 8 + r are then row r's even and odd scores, interleaved on
//    the way out. (amx_qk.hpp's prefill loop wants K as dim pairs [D/2][64], a rearrangement of
//    the whole tile per call that this layout avoids.)
//  - P.V (AmxBf16ValuePv) the same way round: V's rows are B tiles as they lie (16 keys x 32
//    dims), A's rows r hold p_r in the low halves (even dims), rows 8 + r in the high halves
//    (odd dims), and C's rows are interleaved into O (o = alpha o + P.V). Rows are read in
//    place; a tile whose rows end early, or whose D is not a multiple of 32, is staged first.
//    (The prefill's amx::pv_rows wants V as key pairs [32][Dp]: that rearrangement per tile,
//    tried first, cost as much as the FMAs it saved, and its two-chunk chains left tdpbf16ps
//    latency-bound.)
// Not for int8: staging its codes as bf16 rows (sign-extend, convert, pack: exact) then AMX
// P.V measured 21 ns per key against the VNNI entry's 15 (L2-resident, session 7), so an
// int8 cache keeps VNNI Q.K^T and FMA P.V (int8_decode_qk.hpp).
// Both policies need the tile configuration on each thread (amx::ThreadScope, via ThreadScope).
#pragma once
#include <cstdint>
#include <cstring>

#include "../decode_attention.hpp"
#include "amx_bf16_products.hpp"

namespace attn::kernels {

namespace amx_decode {
static_assert(kDecodeFewRows <= amx::kTileRows / 2, "Q.K^T: rows r and 8 + r of one A tile");
constexpr int kOdd = amx::kTileRows / 2;  // A's rows for the odd keys start here

inline int round16(int x) { return (x + 15) / 16 * 16; }

// P.V's B operand staged: key rows [keys][D32] (D32 = D rounded up to 32 dims, zeros after D;
// a tile reads 32 dims of 16 keys). Rows [k0, k1) of the tile, zero past kn (P is zero there,
// and a zero times stale bits could be NaN).
ATTN_TARGET_AMX inline __m512i bf16_row32(const Bf16Bits* p, int n) {
  return n >= 32 ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi16(static_cast<__mmask32>((1ull << n) - 1), p);
}
ATTN_TARGET_AMX inline void stage_values(const Bf16Bits* v, int kn, int D, int D32, int k0, int k1, uint16_t* dst) {
  for (int j = k0; j < k1; ++j) {
    uint16_t* row = dst + static_cast<std::size_t>(j) * D32;
    if (j >= kn) {
      std::memset(row, 0, sizeof(uint16_t) * D32);
      continue;
    }
    const Bf16Bits* src = v + static_cast<long>(j) * D;
    for (int d = 0; d < D32; d += 32) _mm512_store_si512(row + d, bf16_row32(src + d, std::min(32, D - d)));
  }
}

// P.V's A operand for 16-key chunks [kc0, kc1): a[kc][16][16] words, word k = key 16 kc + k:
// rows r < n hold bf16(p_rk) in the low half (they pair with a B row's even dims), rows 8 + r in
// the high half (odd dims); other rows zero. P is bf16-valued (round_p): its float32 bits are
// the high half already.
ATTN_TARGET_AMX inline void pack_p_even_odd(const float* p, int n, int kc0, int kc1, uint32_t* a) {
  for (int kc = kc0; kc < kc1; ++kc) {
    uint32_t* t = a + kc * 256;
    for (int r = 0; r < n; ++r) {
      const __m512i x = _mm512_castps_si512(_mm512_load_ps(p + r * kTileK + kc * 16));
      _mm512_store_si512(t + r * 16, _mm512_srli_epi32(x, 16));
      _mm512_store_si512(t + (kOdd + r) * 16, x);
    }
    for (int r = n; r < kOdd; ++r) {
      _mm512_store_si512(t + r * 16, _mm512_setzero_si512());
      _mm512_store_si512(t + (kOdd + r) * 16, _mm512_setzero_si512());
    }
  }
}

// c[i][16][16] = A . B over chunks [kc0, kc1) for N tiles of 32 dims (i < N): rows r < 8 the
// even dims 32 i + 2 m, rows 8 + r the odd ones. v: the rows' first dim of tile 0, `stride`
// bytes apart. One call keeps N accumulators busy, so the chain per tile is the chunk count.
template <int N>
[[gnu::noinline]] ATTN_TARGET_AMX void pv_even_odd(const uint32_t* a, int kc0, int kc1, const uint16_t* v, long stride,
                                                   float* c) {
  amx::memory_barrier();
  _tile_zero(0);
  if constexpr (N > 1) _tile_zero(1);
  if constexpr (N > 2) _tile_zero(2);
  if constexpr (N > 3) _tile_zero(3);
  for (int kc = kc0; kc < kc1; ++kc) {
    const uint16_t* vb = reinterpret_cast<const uint16_t*>(reinterpret_cast<const char*>(v) + kc * 16 * stride);
    _tile_loadd(4, a + kc * 256, 64);
    _tile_loadd(5, vb, stride);
    _tile_dpbf16ps(0, 4, 5);
    if constexpr (N > 1) {
      _tile_loadd(6, vb + 32, stride);
      _tile_dpbf16ps(1, 4, 6);
    }
    if constexpr (N > 2) {
      _tile_loadd(7, vb + 64, stride);
      _tile_dpbf16ps(2, 4, 7);
    }
    if constexpr (N > 3) {
      _tile_loadd(5, vb + 96, stride);
      _tile_dpbf16ps(3, 4, 5);
    }
  }
  _tile_stored(0, c, 64);
  if constexpr (N > 1) _tile_stored(1, c + 256, 64);
  if constexpr (N > 2) _tile_stored(2, c + 512, 64);
  if constexpr (N > 3) _tile_stored(3, c + 768, 64);
}

// Lane 2 m of the result is lane m of even, lane 2 m + 1 lane m of odd: the first (Hi = false)
// or second 16 of the 32 lanes.
template <bool Hi>
ATTN_TARGET_AMX inline __m512 interleave(__m512 even, __m512 odd) {
  const __m512i idx = Hi ? _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
                         : _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  return _mm512_permutex2var_ps(even, idx, odd);
}

// O rows [0, n), dims [d0, d0 + 32 N) within Dp: o = alpha o + c (pv_even_odd's tiles).
ATTN_TARGET_AMX inline void add_even_odd(const float* c, int N, int n, int d0, int Dp, float* o, const float* alpha) {
  for (int r = 0; r < n; ++r) {
    const __m512 ar = alpha ? _mm512_load_ps(alpha + r * 16) : _mm512_set1_ps(1.0f);
    for (int i = 0; i < N; ++i) {
      const __m512 even = _mm512_load_ps(c + i * 256 + r * 16), odd = _mm512_load_ps(c + i * 256 + (kOdd + r) * 16);
      float* dst = o + static_cast<std::size_t>(r) * Dp + d0 + 32 * i;
      _mm512_store_ps(dst, _mm512_fmadd_ps(_mm512_load_ps(dst), ar, interleave<false>(even, odd)));
      if (d0 + 32 * i + 16 < Dp) _mm512_store_ps(dst + 16, _mm512_fmadd_ps(_mm512_load_ps(dst + 16), ar, interleave<true>(even, odd)));
    }
  }
}

// O rows [0, n) *= alpha (no key to add).
ATTN_TARGET_AMX inline void rescale_rows(int n, int Dp, float* o, const float* alpha) {
  for (int r = 0; r < n; ++r)
    for (int d = 0; d < Dp; d += 16) {
      float* dst = o + static_cast<std::size_t>(r) * Dp + d;
      _mm512_store_ps(dst, _mm512_mul_ps(_mm512_load_ps(dst), _mm512_load_ps(alpha + r * 16)));
    }
}

// A operand of Q.K^T, [chunks][16 rows][16 words], word k of chunk t for dim 16 t + k: rows
// r < n hold bf16(q_rd) in the low half, rows 8 + r in the high half; other rows and dims past
// D zero. Q is bf16-valued (store_inputs rounded it), so the conversion is exact.
ATTN_TARGET_AMX inline void pack_q(const float* q, int n, int D, uint32_t* a) {
  const int chunks = round16(D) / 16;
  std::memset(a, 0, sizeof(uint32_t) * chunks * amx::kTileRows * 16);
  for (int r = 0; r < n; ++r)
    for (int t = 0; t < chunks; ++t) {
      const int left = std::min(16, D - 16 * t);
      const __m512 x = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << left) - 1), q + static_cast<long>(r) * D + 16 * t);
      const __m512i h = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x));
      _mm512_store_si512(a + (t * amx::kTileRows + r) * 16, h);
      _mm512_store_si512(a + (t * amx::kTileRows + kOdd + r) * 16, _mm512_slli_epi32(h, 16));
    }
}

// c[4][16][16]: c[h][r][m] (+)= A . keys 32 h + 2 m (rows r < 8) and 32 h + 2 m + 1 (rows
// 8 + r) over the even chunks of 16 dims, c[2 + h] over the odd ones (two chains per half of
// the keys, so tdpbf16ps's latency overlaps). kt is the key tile [D][64] (row stride 128
// bytes), tail (when given) the last chunk's rows, zero-padded to 16. pf / pf_bytes:
// prefetched into L2 over the chunks (the next key tile and this tile's values).
[[gnu::noinline]] ATTN_TARGET_AMX inline void qk_even_odd(const uint32_t* a, int full, const uint16_t* kt,
                                                         const uint16_t* tail, float* c, const char* pf_a,
                                                         const char* pf_b, long pf_bytes) {
  amx::memory_barrier();
  constexpr long kt_stride = kTileK * 2;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const int chunks = full + (tail ? 1 : 0);
  const long pf_step = chunks > 0 ? (pf_bytes / 64 + chunks - 1) / chunks * 64 : 0;
  auto chunk = [&](int t) { return t < full ? kt + static_cast<std::size_t>(t) * 16 * kTileK : tail; };
  auto prefetch = [&](int t) {  // in the shadow of the tile products (a burst would stall)
    if (pf_a)
      for (long i = t * pf_step; i < std::min(pf_bytes, (t + 1) * pf_step); i += 64) {
        __builtin_prefetch(pf_a + i, 0, 2);
        if (pf_b) __builtin_prefetch(pf_b + i, 0, 2);
      }
  };
  int t = 0;
  for (; t + 1 < chunks; t += 2) {
    const uint16_t *k0 = chunk(t), *k1 = chunk(t + 1);
    _tile_loadd(4, a + t * amx::kTileRows * 16, 64);
    _tile_loadd(5, k0, kt_stride);
    _tile_loadd(6, k0 + 32, kt_stride);
    _tile_dpbf16ps(0, 4, 5);
    _tile_dpbf16ps(1, 4, 6);
    _tile_loadd(7, a + (t + 1) * amx::kTileRows * 16, 64);
    _tile_loadd(5, k1, kt_stride);
    _tile_loadd(6, k1 + 32, kt_stride);
    _tile_dpbf16ps(2, 7, 5);
    _tile_dpbf16ps(3, 7, 6);
    prefetch(t);
    prefetch(t + 1);
  }
  if (t < chunks) {
    const uint16_t* k0 = chunk(t);
    _tile_loadd(4, a + t * amx::kTileRows * 16, 64);
    _tile_loadd(5, k0, kt_stride);
    _tile_loadd(6, k0 + 32, kt_stride);
    _tile_dpbf16ps(0, 4, 5);
    _tile_dpbf16ps(1, 4, 6);
    prefetch(t);
  }
  _tile_stored(0, c, 64);
  _tile_stored(1, c + 256, 64);
  _tile_stored(2, c + 512, 64);
  _tile_stored(3, c + 768, 64);
}

// s[r][0, 64) = scale x row r's scores: the two chains summed, even and odd keys interleaved
// from c (qk_even_odd).
ATTN_TARGET_AMX inline void interleave_scores(const float* c, int n, float scale, float* s) {
  const __m512 sc = _mm512_set1_ps(scale);
  for (int r = 0; r < n; ++r)
    for (int h = 0; h < 2; ++h) {
      const float* e = c + h * 256 + r * 16;
      const float* o = c + h * 256 + (kOdd + r) * 16;
      const __m512 even = _mm512_add_ps(_mm512_load_ps(e), _mm512_load_ps(e + 512));
      const __m512 odd = _mm512_add_ps(_mm512_load_ps(o), _mm512_load_ps(o + 512));
      _mm512_store_ps(s + r * kTileK + 32 * h, _mm512_mul_ps(interleave<false>(even, odd), sc));
      _mm512_store_ps(s + r * kTileK + 32 * h + 16, _mm512_mul_ps(interleave<true>(even, odd), sc));
    }
}

}  // namespace amx_decode

// The few-rows tile's P.V on AMX for a bf16 cache (decode_rows.hpp's WidenedValuePv is the FMA
// one); per thread, P's A tiles and the staged value rows.
struct AmxBf16ValuePv {
  using ThreadScope = amx::ThreadScope;
  uint32_t* a = nullptr;       // [4 chunks][16][16] words (amx_decode::pack_p_even_odd)
  uint16_t* staged = nullptr;  // [kTileK][D32] bf16 (amx_decode::stage_values)

  static int dims32(const Problem& P) { return (P.D + 31) / 32 * 32; }
  static std::size_t a_bytes() { return sizeof(uint32_t) * (kTileK / 16) * amx::kTileRows * 16; }
  static std::size_t thread_bytes(const Problem& P) { return a_bytes() + sizeof(uint16_t) * kTileK * dims32(P); }
  static AmxBf16ValuePv for_thread(const Problem&, char* ws) {
    return {reinterpret_cast<uint32_t*>(ws), reinterpret_cast<uint16_t*>(ws + a_bytes())};
  }

  // The cache's rows are read in place when the tile is whole and B tiles (32 dims) end with
  // the rows: else a tile load would read past them (stale bits, or past the cache's end).
  static bool in_place(const FewRowsTile<Bf16Bits>& t, int D) { return D % 32 == 0 && t.kn == kTileK; }
  template <class V>
  void pv(int n, const float* p, const int* jb, const int* je, const FewRowsTile<Bf16Bits>& t, int D, int Dp,
          const bool* rescale, TileScratch<V>& ws) const {
    static_assert(static_cast<int>(V::size) == 16, "AMX decode: AVX-512 only");
    // The keys any row sees: a row that sees none has zeros in [cb, ce) (few_rows_tile), but
    // stale scores outside it, so it does not widen the range.
    int lo = kTileK, hi = 0;
    bool any = false;
    for (int r = 0; r < n; ++r) {
      if (jb[r] < je[r]) lo = std::min(lo, jb[r]), hi = std::max(hi, je[r]);
      any |= rescale[r];
    }
    const float* alpha = any ? ws.alpha : nullptr;
    if (lo >= hi) {
      if (alpha) amx_decode::rescale_rows(n, Dp, ws.o, alpha);
      return;
    }
    const int kc0 = lo / 16, kc1 = (hi + 15) / 16, D32 = (D + 31) / 32 * 32;
    amx_decode::pack_p_even_odd(p, n, kc0, kc1, a);
    const bool direct = in_place(t, D);
    if (!direct) amx_decode::stage_values(t.v, t.kn, D, D32, kc0 * 16, kc1 * 16, staged);
    const uint16_t* v = direct ? reinterpret_cast<const uint16_t*>(t.v) : staged;
    const long stride = static_cast<long>(sizeof(uint16_t)) * (direct ? D : D32);
    alignas(64) float c[4 * 256];
    for (int d0 = 0; d0 < D; d0 += 128) {
      const int N = std::min(4, (D - d0 + 31) / 32);
      const uint16_t* vd = v + d0;
      amx::with_tiles(N, [&](auto K) { amx_decode::pv_even_odd<decltype(K)::value>(a, kc0, kc1, vd, stride, c); });
      amx_decode::add_even_odd(c, N, n, d0, Dp, ws.o, alpha);
    }
  }
};

// Q.K^T on a bf16 cache's key tile with AMX (see the top of this file); per thread, the A tiles
// of the task's rows and the zero-padded last chunk of dims.
struct AmxBf16KeyQk {
  static constexpr bool kQuantisedQ = false;
  // Its tile is done in about a third of the FMA path's time: prefetches for the next tile
  // would arrive late (session 7: 32k keys, see the README).
  static constexpr int kPrefetchAhead = 2;
  using ThreadScope = amx::ThreadScope;
  uint32_t* a = nullptr;   // [chunks][16][16] words (amx_decode::pack_q)
  uint16_t* tail = nullptr;  // [16][kTileK]: the key tile's last D % 16 rows, then zeros

  static int chunks(const Problem& P) { return amx_decode::round16(P.D) / 16; }
  static std::size_t workspace_bytes(const Problem&) { return 0; }
  static void quantise_head(const Problem&, const float*, long, char*) {}
  static std::size_t thread_bytes(const Problem& P) {
    return sizeof(uint32_t) * chunks(P) * amx::kTileRows * 16 + sizeof(uint16_t) * 16 * kTileK;
  }
  // Per task: its n rows of q as A tiles.
  static AmxBf16KeyQk for_rows(const Problem& P, char*, long, int n, const float* q, char* thread_ws) {
    if (n > kDecodeFewRows) throw std::logic_error("AmxBf16KeyQk: a task of many rows (its entry takes few-rows problems only)");
    AmxBf16KeyQk k;
    k.a = reinterpret_cast<uint32_t*>(thread_ws);
    k.tail = reinterpret_cast<uint16_t*>(k.a + chunks(P) * amx::kTileRows * 16);
    amx_decode::pack_q(q, n, P.D, k.a);
    return k;
  }

  // All 64 keys of the tile, whatever [cb, ce): the softmax reads only those.
  template <class V>
  void qk(int n, const float*, int D, const FewRowsTile<Bf16Bits>& t, int, int, float* s) const {
    const uint16_t* kt = reinterpret_cast<const uint16_t*>(t.k);
    const int full = D / 16;
    if (D % 16 != 0) {  // rows past D belong to the next tile, or lie past the cache's end
      std::memset(tail, 0, sizeof(uint16_t) * 16 * kTileK);
      std::memcpy(tail, kt + static_cast<std::size_t>(full) * 16 * kTileK, sizeof(uint16_t) * (D % 16) * kTileK);
    }
    alignas(64) float c[4 * amx::kTileRows * 16];
    const char* pf_a = reinterpret_cast<const char*>(t.next_k);
    // The next tile's V, not this one's: P.V follows too soon for this tile's to arrive.
    const char* pf_b = reinterpret_cast<const char*>(t.next_v);
    amx_decode::qk_even_odd(a, full, kt, D % 16 != 0 ? tail : nullptr, c, pf_a, pf_b,
                            static_cast<long>(sizeof(uint16_t)) * D * kTileK);
    amx_decode::interleave_scores(c, n, t.score_scale, s);
  }
};

// The bf16 decode entry of the amx table (impl_list.cpp: only problems whose every task has few
// rows).
template <class Arch>
void decode_attention_bf16_amx(const MaskedAttentionArgs& a) {
  const KvCache* c = a.in.cache;
  if (!c || c->dtype != DType::bf16) throw std::logic_error("decode_attention_bf16_amx: needs a bf16 KV cache");
  decode_attention_from<Arch, Bf16Bits, AmxBf16KeyQk, AmxBf16ValuePv>(a, static_cast<const Bf16Bits*>(c->k),
                                                                         static_cast<const Bf16Bits*>(c->v), c);
}
}  // namespace attn::kernels
