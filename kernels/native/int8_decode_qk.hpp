// Decode's Q.K^T on an int8 KV cache with AVX512-VNNI (vpdpbusd), for the few-rows tile
// (kernels/decode_rows.hpp): SPEC's int8 arithmetic with int32 accumulation instead of widening
// every key byte to float32 (sign extension, convert, FMA per element).
//  - Q is quantised per call, per head (its Nq <= kDecodeMaxQ rows are one quantisation block,
//    s_q = max|q| / 127), by int8::pack_query_tile (int8_pack.hpp: the emulated path's
//    quantize_q_int8, operation for operation, so the integers are the same), whose words of 4
//    unsigned bytes q + 128 are flipped back to signed codes (zeros past D).
//  - The cache holds K as words of 4 signed bytes per key ([D4][64 keys], kernels/kv_cache.hpp).
//    vpdpbusd multiplies unsigned by signed bytes, so the key bytes are flipped to k + 128 (an
//    xor of the sign bit) and each row's sum 128 sum_d q_d is subtracted after: sum (k + 128) q
//    = k.q + 128 sum q, exact in int32 (|k.q| <= 127^2 x 256).
//  - Score = (k.q) x (s_q x s_k x scale log2 e): one float32 rounding of an exact integer, then
//    two products. The emulated path's float32 FMAs on code x scale values differ from it by
//    float32 rounding only.
#pragma once
#include <cstdint>
#include <cstring>

#include "../decode_attention.hpp"
#include "int8_pack.hpp"
#include "target.hpp"

namespace attn::kernels {

namespace int8 {
// s[r][c0 16 .. (c0 + C) 16) for R rows: q R rows of D4 words (stride D4 + 1), kt a key tile
// [D4][kTileK] words. row_scale[r] = s_q s_k scale log2 e, row_bias[r] = 128 sum_d q_rd.
// pf_a, pf_b (when given): 4 x kTileK bytes of each prefetched into L2 per word of dims.
template <int R, int C>
[[gnu::noinline]] ATTN_TARGET_BF16 void decode_qk_block(const uint32_t* q, int D4, const int8_t* kt, int c0,
                                                        const float* row_scale, const int32_t* row_bias, float* s,
                                                        const int8_t* pf_a, const int8_t* pf_b) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_si512();
  for (int d4 = 0; d4 < D4; ++d4) {
    if (pf_a)
      for (int i = 0; i < 4 * kTileK; i += 64) {
        __builtin_prefetch(pf_a + static_cast<std::size_t>(d4) * 4 * kTileK + i, 0, 2);
        __builtin_prefetch(pf_b + static_cast<std::size_t>(d4) * 4 * kTileK + i, 0, 2);
      }
    __m512i kv[C];
    ATTN_UNROLL for (int c = 0; c < C; ++c)
      kv[c] = _mm512_xor_si512(
          _mm512_loadu_si512(kt + (static_cast<std::size_t>(d4) * kTileK + (c0 + c) * 16) * 4), flip);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const __m512i qb = _mm512_set1_epi32(static_cast<int>(q[r * (D4 + 1) + d4]));
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], kv[c], qb);
    }
  }
  ATTN_UNROLL for (int r = 0; r < R; ++r) {
    const __m512i bias = _mm512_set1_epi32(row_bias[r]);
    const __m512 scale = _mm512_set1_ps(row_scale[r]);
    ATTN_UNROLL for (int c = 0; c < C; ++c)
      _mm512_store_ps(s + r * kTileK + (c0 + c) * 16,
                      _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][c], bias)), scale));
  }
}
}  // namespace int8

// The few-rows tile's Q.K^T policy on an int8 cache with VNNI (decode_rows.hpp's WidenedKeyQk
// is the float32 one): the task's rows as quantised words, set per task by the kernel.
struct VnniInt8KeyQk {
  static constexpr bool kQuantisedQ = true;  // the kernel quantises Q per call (decode_attention.hpp)
  static constexpr int kPrefetchAhead = 1;
  const uint32_t* q = nullptr;               // the task's rows, D4 words each and s_q (stride D4 + 1)
  int D4 = 0;
  float row_sq[kDecodeFewRows];              // s_q of each row's head
  int32_t row_bias[kDecodeFewRows];          // 128 sum_d q_rd

  static int quads(int D) { return (D + 3) / 4; }
  // Per call: every row's words and s_q (pack_query_tile's rows), then each row's bias.
  static std::size_t workspace_bytes(const Problem& P) {
    const std::size_t rows = static_cast<std::size_t>(P.B) * P.H * P.Nq;
    return sizeof(uint32_t) * rows * (quads(P.D) + 1) + sizeof(int32_t) * rows;
  }
  static uint32_t* words(char* ws) { return reinterpret_cast<uint32_t*>(ws); }
  static int32_t* biases(const Problem& P, char* ws) {
    return reinterpret_cast<int32_t*>(words(ws) + static_cast<std::size_t>(P.B) * P.H * P.Nq * (quads(P.D) + 1));
  }

  // Quantises the Nq rows of head `head` (b H + h) of q: one block, as quantize_q_int8 does
  // (kDecodeMaxQ rows fit one of its kInt8Rows = int8::kRows blocks).
  static void quantise_head(const Problem& P, const float* q, long head, char* ws) {
    static_assert(kDecodeMaxQ <= int8::kRows, "a decode head's rows are one quantisation block");
    const int D = P.D, D4 = quads(D);
    const std::size_t row0 = static_cast<std::size_t>(head) * P.Nq;
    uint32_t* w = words(ws) + row0 * (D4 + 1);
    int8::pack_query_tile(q + row0 * D, P.Nq, D, D4, w);
    for (int i = 0; i < P.Nq; ++i, w += D4 + 1) {
      int32_t sum = 0;
      for (int d4 = 0; d4 < D4; ++d4) {
        w[d4] ^= 0x80808080u;  // q + 128 back to the signed code (128 past D: 0)
        for (int e = 0; e < 4; ++e) sum += static_cast<int8_t>(w[d4] >> (8 * e));
      }
      biases(P, ws)[row0 + i] = 128 * sum;
    }
  }

  // The n rows from row `first` ((b H + h0) Nq + i0): consecutive rows of consecutive heads.
  static std::size_t thread_bytes(const Problem&) { return 0; }
  static VnniInt8KeyQk for_rows(const Problem& P, char* ws, long first, int n, const float*, char*) {
    VnniInt8KeyQk k;
    k.D4 = quads(P.D);
    k.q = words(ws) + static_cast<std::size_t>(first) * (k.D4 + 1);
    for (int r = 0; r < n; ++r) {
      std::memcpy(&k.row_sq[r], k.q + static_cast<std::size_t>(r) * (k.D4 + 1) + k.D4, 4);
      k.row_bias[r] = biases(P, ws)[first + r];
    }
    return k;
  }

  // Rows [0, n) x key vectors [cb, ce) of the tile t (a whole number of 16-key vectors).
  template <class V>
  void qk(int n, const float*, int, const FewRowsTile<int8_t>& t, int cb, int ce, float* s) const {
    static_assert(static_cast<int>(V::size) == 16, "VNNI decode: AVX-512 only");
    float scale[kDecodeFewRows];
    for (int r = 0; r < n; ++r) scale[r] = row_sq[r] * t.score_scale;
    const int8_t* pf_a = t.next_k;
    const int8_t* pf_b = t.next_k ? t.v : nullptr;
    rows<8>(0, n, t.k, cb / 16, ce / 16, scale, s, pf_a, pf_b);
  }

 private:
  // Blocks of R rows (8, 4, 2, 1), each over the columns in blocks of C vectors; the first block
  // prefetches the streams.
  template <int R>
  void rows(int r0, int n, const int8_t* kt, int c_begin, int c_end, const float* scale, float* s, const int8_t*& pf_a,
            const int8_t*& pf_b) const {
    constexpr int C = R >= 8 ? 2 : 4;  // R x C accumulators and C keys of the 32 registers
    for (; r0 + R <= n; r0 += R) {
      int c = c_begin;
      for (; c + C <= c_end; c += C, pf_a = pf_b = nullptr)
        int8::decode_qk_block<R, C>(q + r0 * (D4 + 1), D4, kt, c, scale + r0, row_bias + r0, s + r0 * kTileK, pf_a, pf_b);
      for (; c < c_end; ++c)
        int8::decode_qk_block<R, 1>(q + r0 * (D4 + 1), D4, kt, c, scale + r0, row_bias + r0, s + r0 * kTileK, nullptr, nullptr);
    }
    if constexpr (R > 1) rows<R / 2>(r0, n, kt, c_begin, c_end, scale, s, pf_a, pf_b);
  }
};

// The decode entry of the avx512bf16 table for int8 caches (impl_list.cpp: only problems whose
// every task has few rows).
template <class Arch>
void decode_attention_int8_vnni(const MaskedAttentionArgs& a) {
  const KvCache* c = a.in.cache;
  if (!c || c->dtype != DType::int8) throw std::logic_error("decode_attention_int8_vnni: needs an int8 KV cache");
  decode_attention_from<Arch, int8_t, VnniInt8KeyQk>(a, static_cast<const int8_t*>(c->k), static_cast<const int8_t*>(c->v), c);
}

}  // namespace attn::kernels
