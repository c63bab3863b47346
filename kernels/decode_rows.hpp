// The decode path's key tile for few query rows (at most kDecodeFewRows, e.g. one query of a
// GQA group of 4 or 8 heads): the products read K and V where they lie and keep every widened
// value in registers, because with so few rows nothing amortises a copy of the tile.
//  - float32 K rows [Nk][D]: each score is a dot product along D. Per W keys and per row, one
//    partial vector per key (FMAs along D), then a transposing reduction tree turns the W
//    partials into one vector of W scores (log2(W) rounds of two shuffles and an add).
//  - a narrow cache's K, tile-transposed (kernels/kv_cache.hpp: [D][kTileK], int8 [D/4][kTileK]
//    words of 4 dims): the prefill engine's Q.K^T order (a vector of keys per dim), the vector
//    widened on load (WidenedKeyQk), or int8 words into vpdpbusd (native/int8_decode_qk.hpp).
//  - V rows [Nk][D], float32 or narrow, widened on load (int8: P x codes accumulated in float32,
//    the channel scales applied once per task by the caller, not once per element).
// The softmax (masks, modifiers, lazy rescale) is the prefill engine's, row by row.
// While Q.K^T of a tile runs, the next bytes of both streams are prefetched (FewRowsTile::next_k).
#pragma once
#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "kv_load.hpp"
#include "masked_attention.hpp"

namespace attn::kernels {

namespace simd_detail {
// Lane t of a vector made of G-lane blocks taken alternately from a and b: the blocks of the
// first (Hi = false) or second half of each.
template <int G, bool Hi, int W>
constexpr int zip_block_lane(int t) {
  return (Hi ? W / 2 : 0) + (t / G / 2) * G + t % G + (t / G % 2) * W;
}
template <int G, bool Hi, class Reg, int... T>
inline Reg zip_blocks(Reg a, Reg b, std::integer_sequence<int, T...>) {
  return __builtin_shufflevector(a, b, zip_block_lane<G, Hi, sizeof...(T)>(T)...);
}
// One round of the tree: lanes of a and b in G-lane blocks, each pair of halves summed, so
// every block of 2G lanes holds the G-lane partials of a, then of b.
template <int G, class A>
inline xsimd::batch<float, A> zip_add(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) {
  using B = xsimd::batch<float, A>;
  using Reg = typename B::register_type;
  constexpr int W = static_cast<int>(B::size);
  const auto lanes = std::make_integer_sequence<int, W>{};
  return B(zip_blocks<G, false>(static_cast<Reg>(a), static_cast<Reg>(b), lanes)) +
         B(zip_blocks<G, true>(static_cast<Reg>(a), static_cast<Reg>(b), lanes));
}
template <int G, int N, class A>
inline void tree_round(xsimd::batch<float, A>* x) {
  _Pragma("GCC unroll 16") for (int i = 0; i < N / 2; ++i) x[i] = zip_add<G>(x[2 * i], x[2 * i + 1]);
  if constexpr (N > 2) tree_round<2 * G, N / 2>(x);
}
}  // namespace simd_detail

// Lane j of the result is the sum of the lanes of x[j] (x is overwritten): W dot products
// finished at once, with W - 1 adds and 2 (W - 1) shuffles instead of W horizontal sums.
template <class A>
inline xsimd::batch<float, A> transposing_sum(xsimd::batch<float, A>* x) {
  constexpr int W = static_cast<int>(xsimd::batch<float, A>::size);
  simd_detail::tree_round<1, W>(x);
  return x[0];
}
inline simd::Scalar1 transposing_sum(simd::Scalar1* x) { return x[0]; }

// s[r][cb .. ce) = score_scale * q_r . k_j for n rows and the float32 key rows k (stride D),
// keys [cb, ce) (whole vectors of keys, all within the tensor: see few_rows_tile). Each block
// of W keys prefetches the same rows of pf_a and pf_b (when given) into L2.
template <class V>
inline void qk_key_rows(const float* q, int n, int D, const float* k, int cb, int ce, float score_scale, float* s,
                        const float* pf_a = nullptr, const float* pf_b = nullptr) {
  constexpr int W = static_cast<int>(V::size);
  const int d_vec = D / W * W;
  // The prefetches of a block are spread over its FMAs (a few per step of W keys x W dims): a
  // burst would stall the core on the memory system's few outstanding misses, while spread out
  // the arithmetic runs in their shadow.
  const long block_bytes = static_cast<long>(sizeof(float)) * W * D;
  const int steps = std::max(1, n * (d_vec / W));
  const long pf_step = (block_bytes / 64 + steps - 1) / steps * 64;
  for (int jb = cb; jb < ce; jb += W) {
    const char* pa = pf_a ? reinterpret_cast<const char*>(pf_a + static_cast<long>(jb) * D) : nullptr;
    const char* pb = pf_b ? reinterpret_cast<const char*>(pf_b + static_cast<long>(jb) * D) : nullptr;
    long pf_done = 0;
    for (int r = 0; r < n; ++r) {
      const float* qr = q + static_cast<long>(r) * D;
      V acc[W];
      ATTN_UNROLL for (int j = 0; j < W; ++j) acc[j] = V(0.0f);
      for (int d = 0; d < d_vec; d += W) {
        if (pa && pf_done < block_bytes) {
          for (long i = pf_done; i < std::min(block_bytes, pf_done + pf_step); i += 64) {
            __builtin_prefetch(pa + i, 0, 2);
            if (pb) __builtin_prefetch(pb + i, 0, 2);
          }
          pf_done += pf_step;
        }
        const V qv = V::load_unaligned(qr + d);
        ATTN_UNROLL for (int j = 0; j < W; ++j)
          acc[j] = simd::vfma(qv, V::load_unaligned(k + static_cast<long>(jb + j) * D + d), acc[j]);
      }
      V dots = transposing_sum(acc);
      if (d_vec < D) {  // the dims past the last whole vector
        alignas(64) float tail[W];
        for (int j = 0; j < W; ++j) {
          float t = 0;
          for (int d = d_vec; d < D; ++d) t += qr[d] * k[static_cast<long>(jb + j) * D + d];
          tail[j] = t;
        }
        dots = dots + V::load_aligned(tail);
      }
      (dots * V(score_scale)).store_aligned(s + r * kTileK + jb);
    }
    if (pa)
      for (long i = pf_done; i < block_bytes; i += 64) {  // D not a whole number of vectors: the rest
        __builtin_prefetch(pa + i, 0, 2);
        if (pb) __builtin_prefetch(pb + i, 0, 2);
      }
  }
}

// s[r][c0 W .. c1 W) for R rows against a tile-transposed narrow key tile kt (kv_cache.hpp),
// C key vectors at a time, widened in registers: the prefill engine's qk_block on narrow keys.
// pf_a, pf_b (when given): tiles of D x kTileK elements prefetched into L2 four dims per step.
template <class V, int R, int C, class T>
inline void qk_tile_block(const float* q, int D, const T* kt, int c0, float score_scale, float* s,
                          const T* pf_a = nullptr, const T* pf_b = nullptr) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = V(0.0f);
  // Four dims per step (an int8 cache holds them in one word per key).
  for (int d4 = 0; 4 * d4 < D; ++d4) {
    if (pf_a)
      for (std::size_t i = 0; i < 4 * sizeof(T) * kTileK; i += 64) {
        __builtin_prefetch(reinterpret_cast<const char*>(pf_a + static_cast<std::size_t>(4 * d4) * kTileK) + i, 0, 2);
        __builtin_prefetch(reinterpret_cast<const char*>(pf_b + static_cast<std::size_t>(4 * d4) * kTileK) + i, 0, 2);
      }
    simd::for_each_dim_of_quad(d4, D, [&](auto e) {
      constexpr int E = decltype(e)::value;
      V kv[C];
      ATTN_UNROLL for (int c = 0; c < C; ++c) kv[c] = simd::widen_key<V, E>(kt, d4, (c0 + c) * W);
      ATTN_UNROLL for (int r = 0; r < R; ++r) {
        const V qb(q[r * D + 4 * d4 + E]);
        ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = simd::vfma(qb, kv[c], acc[r][c]);
      }
    });
  }
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) (acc[r][c] * V(score_scale)).store_aligned(s + r * kTileK + (c0 + c) * W);
}

// Register budget of a few-rows micro-kernel: accumulators (R x C vectors) plus its loads fit
// 32 vector registers with AVX-512, 16 below.
template <class V, int R>
constexpr int few_rows_cols() {
  constexpr int W = static_cast<int>(V::size);
  constexpr int budget = W >= 16 ? 16 : 8;
  constexpr int c = budget / R > 0 ? budget / R : 1;
  return c < 4 ? c : 4;
}

template <class V, int R, class T>
inline void qk_tile_rows(const float* q, int D, const T* kt, int cb, int ce, float score_scale, float* s,
                         const T* pf_a, const T* pf_b) {
  constexpr int W = static_cast<int>(V::size);
  constexpr int C = few_rows_cols<V, R>();
  int c = cb / W;
  for (; c + C <= ce / W; c += C, pf_a = pf_b = nullptr) qk_tile_block<V, R, C>(q, D, kt, c, score_scale, s, pf_a, pf_b);
  for (; c < ce / W; ++c) qk_tile_block<V, R, 1>(q, D, kt, c, score_scale, s);
}

// o[r][C vectors from d0] = alpha[r] o[r] + sum_{jb <= j < je} p[r][j] v[j] for R rows, V rows
// of stride D widened on load (int8: the codes; the caller applies the channel scales once).
template <class V, int R, int C, class T>
inline void pv_key_rows_block(const float* p, int jb, int je, const T* v, int D, int d0, int Dp, float* o,
                              const float* alpha) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r) {
    const V ar = alpha ? V::load_aligned(alpha + r * W) : V(1.0f);
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = V::load_aligned(o + r * Dp + d0 + c * W) * ar;
  }
  for (int j = jb; j < je; ++j) {
    V vv[C];
    ATTN_UNROLL for (int c = 0; c < C; ++c) vv[c] = simd::widen<V>(v + static_cast<long>(j) * D + d0 + c * W);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const V pb(p[r * kTileK + j]);
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = simd::vfma(pb, vv[c], acc[r][c]);
    }
  }
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c].store_aligned(o + r * Dp + d0 + c * W);
}

// P.V of R rows over the whole head: blocks of C vectors, then single vectors, then the dims
// past the last whole vector one at a time (in place, a row may end anywhere).
template <class V, int R, class T>
inline void pv_key_rows(const float* p, int jb, int je, const T* v, int D, int Dp, float* o, const float* alpha) {
  constexpr int W = static_cast<int>(V::size);
  constexpr int C = few_rows_cols<V, R>();
  const int nvec = D / W;
  int c = 0;
  for (; c + C <= nvec; c += C) pv_key_rows_block<V, R, C>(p, jb, je, v, D, c * W, Dp, o, alpha);
  for (; c < nvec; ++c) pv_key_rows_block<V, R, 1>(p, jb, je, v, D, c * W, Dp, o, alpha);
  for (int d = nvec * W; d < D; ++d)
    for (int r = 0; r < R; ++r) {
      float* od = o + r * Dp + d;
      float acc = alpha ? alpha[r * W] * *od : *od;
      for (int j = jb; j < je; ++j) acc += p[r * kTileK + j] * simd::widen_one(v[static_cast<long>(j) * D + d]);
      *od = acc;
    }
}

// One key tile as the few-rows path sees it: where its K and V start, how K is laid out.
template <class T>
struct FewRowsTile {
  const T* k;                    // float32: key row k0 of [Nk][D]; narrow: the tile [D][kTileK]
  const T* v;                    // value row k0 of [Nk][D]
  int kn;                        // valid keys in the tile
  float score_scale;             // scale log2(e) (times the int8 tile's scale)
  // The next tile's keys (a whole tile of them: rows, or the cache's transposed tile), or null.
  // Q.K^T prefetches them and this tile's value rows as it goes, so both streams stay ahead.
  const T* next_k = nullptr;
  const T* next_v = nullptr;  // the next tile's value rows (with next_k): for products fast
                              // enough that this tile's V, prefetched during Q.K^T, comes late
};

// Rows [r0, r0 + R) of the few-rows tile: P.V (R a power of two: blocks of 8, 4, 2, 1 rows).
template <class V, int R, class T>
inline void pv_row_blocks(int r0, int n, const float* p, const int* jb, const int* je, const FewRowsTile<T>& t, int D,
                          int Dp, const bool* rescale, TileScratch<V>& ws) {
  constexpr int W = static_cast<int>(V::size);
  for (; r0 + R <= n; r0 += R) {
    int lo = kTileK, hi = 0;
    bool any = false;
    for (int r = r0; r < r0 + R; ++r) lo = std::min(lo, jb[r]), hi = std::max(hi, je[r]), any |= rescale[r];
    if (lo >= hi && !any) continue;
    pv_key_rows<V, R>(p + static_cast<std::size_t>(r0) * kTileK, lo, std::max(lo, hi), t.v, D, Dp,
                      ws.o + static_cast<std::size_t>(r0) * Dp, any ? ws.alpha + r0 * W : nullptr);
  }
  if constexpr (R > 1) pv_row_blocks<V, R / 2>(r0, n, p, jb, je, t, D, Dp, rescale, ws);
}

// The first block of C key vectors prefetches pf_a and pf_b (when given) as it goes.
template <class V, int R, class T>
inline void qk_tile_row_blocks(int r0, int n, const float* q, int D, const T* kt, int cb, int ce, float score_scale,
                               float* s, const T* pf_a, const T* pf_b) {
  for (; r0 + R <= n; r0 += R, pf_a = pf_b = nullptr)
    qk_tile_rows<V, R>(q + static_cast<long>(r0) * D, D, kt, cb, ce, score_scale, s + static_cast<std::size_t>(r0) * kTileK,
                       pf_a, pf_b);
  if constexpr (R > 1) qk_tile_row_blocks<V, R / 2>(r0, n, q, D, kt, cb, ce, score_scale, s, pf_a, pf_b);
}

// The few-rows tile's Q.K^T on a narrow cache's key tile: every key widened to float32 in
// registers, float32 FMAs (every ISA). kernels/native/int8_decode_qk.hpp has the VNNI one.
struct WidenedKeyQk {
  static constexpr bool kQuantisedQ = false;  // Q as the plan hands it (int8: quantised values)
  static constexpr int kPrefetchAhead = 1;    // tiles ahead of this one its prefetches are for
  static std::size_t workspace_bytes(const Problem&) { return 0; }
  static std::size_t thread_bytes(const Problem&) { return 0; }
  static void quantise_head(const Problem&, const float*, long, char*) {}
  static WidenedKeyQk for_rows(const Problem&, char*, long, int, const float*, char*) { return {}; }
  template <class V, class T>
  void qk(int n, const float* q, int D, const FewRowsTile<T>& t, int cb, int ce, float* s) const {
    qk_tile_row_blocks<V, kDecodeFewRows>(0, n, q, D, t.k, cb, ce, t.score_scale, s, t.next_k, t.next_k ? t.v : nullptr);
  }
};

// The few-rows tile's P.V on every ISA: V rows widened in registers, float32 FMAs
// (pv_row_blocks). kernels/native/amx_decode.hpp has the AMX one.
struct WidenedValuePv {
  static std::size_t thread_bytes(const Problem&) { return 0; }
  static WidenedValuePv for_thread(const Problem&, char*) { return {}; }
  template <class V, class T>
  void pv(int n, const float* p, const int* jb, const int* je, const FewRowsTile<T>& t, int D, int Dp,
          const bool* rescale, TileScratch<V>& ws) const {
    pv_row_blocks<V, kDecodeFewRows>(0, n, p, jb, je, t, D, Dp, rescale, ws);
  }
};

// softmax_row keeps only the score vectors [c0, c1) of its x[] array; inlined here, GCC 12
// cannot see that the others are never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// n <= kDecodeFewRows query rows (stride D) against one key tile: Q.K^T, the online softmax of
// every row (masks and score modifiers as in the prefill engine's row_group), P.V into ws.o.
// A narrow cache's Q.K^T runs key_qk (WidenedKeyQk, or the VNNI or AMX one), P.V value_pv
// (WidenedValuePv, or the AMX one).
template <class V, class T, class KeyQk = WidenedKeyQk, class ValuePv = WidenedValuePv>
inline void few_rows_tile(int n, const float* q, int D, int Dp, const FewRowsTile<T>& t, const RowMasks* masks,
                          TileScratch<V>& ws, const KeyQk& key_qk = KeyQk{}, const ValuePv& value_pv = ValuePv{}) {
  constexpr int W = static_cast<int>(V::size);
  constexpr bool key_rows = std::is_same<T, float>::value;  // float32 K: rows in place
  int jb[kDecodeFewRows], je[kDecodeFewRows];
  int cb = kTileK, ce = 0;
  for (int r = 0; r < n; ++r) {
    key_span(masks, r, 1, jb[r], je[r]);
    if (jb[r] < je[r]) cb = std::min(cb, jb[r] / W * W), ce = std::max(ce, round_up(je[r], W));
  }
  if (cb >= ce) return;
  // Key rows past the valid count may lie past the tensor's end: Q.K^T stops at the last
  // whole vector inside it, and the keys after it are masked (scores -inf from the mask).
  if (key_rows) ce = std::min(ce, round_up(t.kn, W));
  float* s = ws.p;
  if constexpr (key_rows) {
    if (t.kn % W != 0) {
      // The last vector of keys reads rows past kn: compute it from a zero-padded copy.
      const int full = t.kn / W * W;
      if (cb < full) qk_key_rows<V>(q, n, D, t.k, cb, std::min(ce, full), t.score_scale, s);
      if (ce > full) {
        alignas(64) float pad[W * 256];  // D <= 256 (variants/registry.cpp refuses more)
        std::fill(pad, pad + W * D, 0.0f);
        std::copy(t.k + static_cast<long>(full) * D, t.k + static_cast<long>(t.kn) * D, pad);
        alignas(64) float sp[kDecodeFewRows * kTileK];  // qk_key_rows stores whole aligned vectors
        qk_key_rows<V>(q, n, D, pad, 0, W, t.score_scale, sp);
        for (int r = 0; r < n; ++r) std::copy(sp + r * kTileK, sp + r * kTileK + W, s + r * kTileK + full);
      }
    } else {
      qk_key_rows<V>(q, n, D, t.k, cb, ce, t.score_scale, s, t.next_k, t.next_k ? t.v : nullptr);
    }
  } else {
    key_qk.template qk<V>(n, q, D, t, cb, ce, s);
  }
  if (ws.mods) modify_scores(ws, 0, n, s, [&](int) { return std::pair<int, int>(cb / W, ce / W); });
  bool rescale[kDecodeFewRows];
  for (int r = 0; r < n; ++r) {
    rescale[r] = false;
    if (jb[r] >= je[r]) {  // a row that sees no key here keeps its state; P.V must add nothing
      std::fill(s + r * kTileK + cb, s + r * kTileK + ce, 0.0f);
      V(1.0f).store_aligned(ws.alpha + r * W);
      continue;
    }
    rescale[r] = softmax_row<V>(s + r * kTileK, cb / W, ce / W, masks ? masks->first(r) : nullptr,
                                masks ? masks->second(r) : nullptr, ws.m + r * W, ws.l + r * W, ws.alpha + r * W,
                                ws.round_p, ws.score_bound());
  }
  value_pv.template pv<V>(n, s, jb, je, t, D, Dp, rescale, ws);
}
#pragma GCC diagnostic pop

}  // namespace attn::kernels
