// Decode's few-rows products on AMX (tdpbf16ps) for narrow KV caches: the policies of the
// few-rows tile (kernels/decode_rows.hpp) that replace float32 FMAs, where a key costs
// 4 rows x D/16 FMAs plus its widening, by tile products. With at most kDecodeFewRows = 8 rows
// most of a 16-row tile idles, and it is still far faster than the FMAs.
// The arithmetic is the emulated path's: bf16 inputs (a bf16 cache's values, int8 codes, which
// bf16 holds exactly; Q and P are bf16-valued already: store_inputs rounds Q, the softmax rounds
// P, round_p), float32 accumulation. So results differ from the widening path by float32
// summation order only.
//  - P.V (AmxValuePv, bf16 and int8 caches): per key tile, V's rows are rearranged in registers
//    into the pair layout amx::pv_rows reads ([32 key pairs][Dp] words: a word holds one dim of
//    two consecutive keys), in a per-thread L1 scratch; then amx::pv_rows (the prefill's P.V:
//    P packed to pairs, o = alpha o + P.V). int8's channel scales stay applied once per task
//    (decode_attention.hpp).
//  - Q.K^T on a bf16 cache (AmxBf16KeyQk): the cache's key tile [D][64 keys] is read as B
//    tiles as it lies (16 dims x 32 keys, the keys of a row in pairs), with no rearrangement:
//    A's rows r hold q_r in the low half of each word (they pair with the even keys), rows 8 + r
//    in the high half (the odd keys). C's rows r and 8 + r are then row r's even and odd scores,
//    interleaved on the way out. (amx_qk.hpp's prefill loop wants K as dim pairs [D/2][64], a
//    rearrangement of the whole tile per call that this layout avoids.) int8 keeps its VNNI
//    Q.K^T (int8_decode_qk.hpp).
// Both need the tile configuration on each thread (amx::ThreadScope, via ThreadScope below).
#pragma once
#include <cstdint>
#include <cstring>

#include "../decode_attention.hpp"
#include "amx_bf16_products.hpp"
#include "int8_decode_qk.hpp"

namespace attn::kernels {

namespace amx_decode {
static_assert(kDecodeFewRows <= amx::kTileRows / 2, "Q.K^T: rows r and 8 + r of one A tile");
constexpr int kOdd = amx::kTileRows / 2;  // A's rows for the odd keys start here

inline int round16(int x) { return (x + 15) / 16 * 16; }

// Lanes [0, n) of a 16-lane row loaded (n <= 16), the others zero: no read past n.
ATTN_TARGET_AMX inline __m512i widen_codes(const int8_t* p, int n) {
  return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << n) - 1), p));
}
ATTN_TARGET_AMX inline __m512i widen_bits(const Bf16Bits* p, int n) {
  return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1), p));
}

// One pair word per dim for keys a (low half) and b (high half), 16 dims from d, n of them valid.
// int8: the codes converted to float32 (exact: |code| <= 128), whose low 16 bits are zero, so
// the high half is the bf16 value. bf16: the stored bits.
ATTN_TARGET_AMX inline __m512i key_pair(const int8_t* a, const int8_t* b, int n) {
  const __m512i fa = _mm512_castps_si512(_mm512_cvtepi32_ps(widen_codes(a, n)));
  const __m512i fb = b ? _mm512_castps_si512(_mm512_cvtepi32_ps(widen_codes(b, n))) : _mm512_setzero_si512();
  return _mm512_or_si512(_mm512_srli_epi32(fa, 16), fb);
}
ATTN_TARGET_AMX inline __m512i key_pair(const Bf16Bits* a, const Bf16Bits* b, int n) {
  const __m512i lo = widen_bits(a, n);
  return b ? _mm512_or_si512(lo, _mm512_slli_epi32(widen_bits(b, n), 16)) : lo;
}

// Pair rows [kp0, kp1) of the value tile v (kn <= kTileK rows of D elements, stride D) into
// pairs[32][Dp] words: keys past kn and dims past D are zeros (P is zero there, and a zero
// times stale bits could be NaN).
template <class T>
ATTN_TARGET_AMX void value_pairs(const T* v, int kn, int D, int Dp, int kp0, int kp1, uint32_t* pairs) {
  for (int kp = kp0; kp < kp1; ++kp) {
    const int ka = 2 * kp, kb = 2 * kp + 1;
    uint32_t* row = pairs + static_cast<std::size_t>(kp) * Dp;
    if (ka >= kn) {
      std::memset(row, 0, sizeof(uint32_t) * Dp);
      continue;
    }
    const T* a = v + static_cast<long>(ka) * D;
    const T* b = kb < kn ? a + D : nullptr;
    for (int d = 0; d < Dp; d += 16)
      _mm512_store_si512(row + d, key_pair(a + d, b ? b + d : nullptr, std::min(16, D - d)));
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

// c[2][16][16]: c[h][r][m] (+)= A . keys 32 h + 2 m (rows r < 8) and 32 h + 2 m + 1 (rows
// 8 + r) over `chunks` chunks of 16 dims; kt is the key tile [D][64] (row stride 128 bytes),
// tail (when given) the last chunk's rows, zero-padded to 16. pf / pf_bytes: prefetched into
// L2 over the chunks (the next key tile and this tile's values).
[[gnu::noinline]] ATTN_TARGET_AMX inline void qk_even_odd(const uint32_t* a, int full, const uint16_t* kt,
                                                         const uint16_t* tail, float* c, const char* pf_a,
                                                         const char* pf_b, long pf_bytes) {
  amx::memory_barrier();
  constexpr long kt_stride = kTileK * 2;
  _tile_zero(0);
  _tile_zero(1);
  const int chunks = full + (tail ? 1 : 0);
  const long pf_step = chunks > 0 ? (pf_bytes / 64 + chunks - 1) / chunks * 64 : 0;
  for (int t = 0; t < chunks; ++t) {
    const uint16_t* kb = t < full ? kt + static_cast<std::size_t>(t) * 16 * kTileK : tail;
    _tile_loadd(4, a + t * amx::kTileRows * 16, 64);
    _tile_loadd(5, kb, kt_stride);
    _tile_loadd(6, kb + 32, kt_stride);
    _tile_dpbf16ps(0, 4, 5);
    _tile_dpbf16ps(1, 4, 6);
    // The prefetches run in the shadow of the tile products (a burst would stall on the few
    // outstanding misses).
    if (pf_a)
      for (long i = t * pf_step; i < std::min(pf_bytes, (t + 1) * pf_step); i += 64) {
        __builtin_prefetch(pf_a + i, 0, 2);
        if (pf_b) __builtin_prefetch(pf_b + i, 0, 2);
      }
  }
  _tile_stored(0, c, 64);
  _tile_stored(1, c + 256, 64);
}

// s[r][0, 64) = scale x row r's scores, even and odd keys interleaved from c (qk_even_odd).
ATTN_TARGET_AMX inline void interleave_scores(const float* c, int n, float scale, float* s) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512 sc = _mm512_set1_ps(scale);
  for (int r = 0; r < n; ++r)
    for (int h = 0; h < 2; ++h) {
      const __m512 even = _mm512_load_ps(c + h * 256 + r * 16), odd = _mm512_load_ps(c + h * 256 + (kOdd + r) * 16);
      _mm512_store_ps(s + r * kTileK + 32 * h, _mm512_mul_ps(_mm512_permutex2var_ps(even, lo, odd), sc));
      _mm512_store_ps(s + r * kTileK + 32 * h + 16, _mm512_mul_ps(_mm512_permutex2var_ps(even, hi, odd), sc));
    }
}

// amx::pv_rows for n = 1..kDecodeFewRows rows (its row count is a template argument).
template <int R = kDecodeFewRows>
inline void pv_n_rows(int n, const float* p, int jb, int je, const uint32_t* pairs, int Dp, float* o, const float* alpha) {
  if constexpr (R > 1)
    if (n < R) return pv_n_rows<R - 1>(n, p, jb, je, pairs, Dp, o, alpha);
  amx::pv_rows<R>(p, jb, je, pairs, Dp, o, alpha);
}
}  // namespace amx_decode

// The few-rows tile's P.V on AMX (decode_rows.hpp's WidenedValuePv is the FMA one), for a bf16
// or int8 cache; per thread, the pair scratch.
template <class T>
struct AmxValuePv {
  using ThreadScope = amx::ThreadScope;
  uint32_t* pairs = nullptr;  // [32 key pairs][Dp] words

  static int padded_dims(const Problem& P) { return amx_decode::round16(P.D); }
  static std::size_t thread_bytes(const Problem& P) { return sizeof(uint32_t) * kTileK / 2 * padded_dims(P); }
  static AmxValuePv for_thread(const Problem&, char* ws) { return {reinterpret_cast<uint32_t*>(ws)}; }

  template <class V>
  void pv(int n, const float* p, const int* jb, const int* je, const FewRowsTile<T>& t, int D, int Dp,
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
    if (lo < hi) amx_decode::value_pairs(t.v, t.kn, D, Dp, lo / 32 * 16, (hi + 31) / 32 * 16, pairs);
    amx_decode::pv_n_rows(n, p, lo, std::max(lo, hi), pairs, Dp, ws.o, any ? ws.alpha : nullptr);
  }
};

// Q.K^T on a bf16 cache's key tile with AMX (see the top of this file); per thread, the A tiles
// of the task's rows and the zero-padded last chunk of dims.
struct AmxBf16KeyQk {
  static constexpr bool kQuantisedQ = false;
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
    alignas(64) float c[2 * amx::kTileRows * 16];
    const char* pf_a = reinterpret_cast<const char*>(t.next_k);
    const char* pf_b = t.next_k ? reinterpret_cast<const char*>(t.v) : nullptr;
    amx_decode::qk_even_odd(a, full, kt, D % 16 != 0 ? tail : nullptr, c, pf_a, pf_b,
                            static_cast<long>(sizeof(uint16_t)) * D * kTileK);
    amx_decode::interleave_scores(c, n, t.score_scale, s);
  }
};

// The decode entries of the amx table (impl_list.cpp: only problems whose every task has few
// rows): a bf16 cache with both products on AMX, an int8 cache with VNNI Q.K^T and AMX P.V.
template <class Arch>
void decode_attention_bf16_amx(const MaskedAttentionArgs& a) {
  const KvCache* c = a.in.cache;
  if (!c || c->dtype != DType::bf16) throw std::logic_error("decode_attention_bf16_amx: needs a bf16 KV cache");
  decode_attention_from<Arch, Bf16Bits, AmxBf16KeyQk, AmxValuePv<Bf16Bits>>(a, static_cast<const Bf16Bits*>(c->k),
                                                                         static_cast<const Bf16Bits*>(c->v), c);
}
template <class Arch>
void decode_attention_int8_amx(const MaskedAttentionArgs& a) {
  const KvCache* c = a.in.cache;
  if (!c || c->dtype != DType::int8) throw std::logic_error("decode_attention_int8_amx: needs an int8 KV cache");
  decode_attention_from<Arch, int8_t, VnniInt8KeyQk, AmxValuePv<int8_t>>(a, static_cast<const int8_t*>(c->k),
                                                                       static_cast<const int8_t*>(c->v), c);
}

}  // namespace attn::kernels
