// The FlashAttention-2 backward, written once against simd::Vec<Arch> from the forward engine's
// pieces (key packing, the Q.K^T and P.V micro-kernels, row masks, exp2).
//
// Tasks are (batch, kv head, key tile): the tile's dK and dV accumulate in the task's own scratch
// over every query head of the GQA group and every query tile that visits the key tile (the
// forward's block plan transposed, built by the plan), so no two threads write one dK/dV row and
// nothing is atomic. dQ rows receive from every key tile: each thread accumulates into its own
// float32 copy of dQ ([B, H, Nq, Dp]) and the copies are summed into dQ at the end. Extra memory:
// threads x B H Nq Dp floats for those copies, 2 B H Nq floats (D_i, the log-sum-exp in log2
// units) and O(tile) scratch per thread.
//
// Per (key tile, query tile) pair, five products, each over the whole pair before the next so its
// operand tile stays in L1 (32 KiB each at D = 128):
//   S  = Q K^T  (K^T packed with scale log2(e) folded in, as the forward)  P  = 2^(S - lse log2 e)
//   dP = dO V^T (V^T packed)                                               dS = scale P (dP - D_i)
//   dQ += dS K,  dV += P^T dO,  dK += dS^T Q
// P is recomputed from the forward's log-sum-exp with the forward's own Q.K^T, masked exactly as
// the forward (the plan's tile kinds and build_row_masks). D_i = dO_i . O_i, once per call.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "flash_backward_args.hpp"
#include "masked_attention.hpp"

namespace attn::kernels {

// Where everything lives in the workspace: D_i and lse log2(e) of every row, then per thread its
// dQ copy, its tile scratch and its RowMasks. Every region starts on a 64-byte boundary.
struct BackwardLayout {
  static std::size_t align(std::size_t bytes) { return (bytes + 63) / 64 * 64; }
  int k_tiles, Dp;
  std::size_t rows, row_bytes, dq_floats, tile_floats, thread_bytes;
  BackwardLayout(const Problem& P, int W) {
    k_tiles = (P.Nk + kTileK - 1) / kTileK;
    Dp = (P.D + W - 1) / W * W;
    rows = static_cast<std::size_t>(P.B) * P.H * P.Nq;
    row_bytes = align(sizeof(float) * 2 * rows);
    dq_floats = rows * Dp;
    // K^T, V^T [D][kTileK]; K, Q, dO, dK, dV rows [kTileK][Dp]; S/P and dP/dS [kTileQ][kTileK].
    tile_floats = 2 * static_cast<std::size_t>(P.D) * kTileK + 5 * static_cast<std::size_t>(kTileK) * Dp +
                  2 * static_cast<std::size_t>(kTileQ) * kTileK;
    thread_bytes = align(sizeof(float) * dq_floats) + align(sizeof(float) * tile_floats) + align(sizeof(RowMasks));
  }
  std::size_t total(int threads) const { return row_bytes + thread_bytes * threads; }
};

template <class Arch>
std::size_t flash_backward_workspace(const Problem& p, int threads) {
  return BackwardLayout(p, static_cast<int>(simd::Vec<Arch>::size)).total(threads);
}

// One thread's pieces of the workspace.
struct BackwardScratch {
  float* dq;                    // this thread's dQ copy [B H Nq][Dp]
  float *kt, *vt;               // [D][kTileK]
  float *krow, *qv, *dov;       // [kTileK][Dp], zero-padded
  float *dk, *dv;               // the key tile's accumulators [kTileK][Dp]
  float *s, *dp;                // S then P, dP then dS: [kTileQ][kTileK]
  RowMasks* masks;
  BackwardScratch(char* mine, const BackwardLayout& L, int D) {
    float* f = reinterpret_cast<float*>(mine);
    dq = f;
    f = reinterpret_cast<float*>(mine + BackwardLayout::align(sizeof(float) * L.dq_floats));
    const std::size_t kd = static_cast<std::size_t>(D) * kTileK, rd = static_cast<std::size_t>(kTileK) * L.Dp;
    kt = f, f += kd;
    vt = f, f += kd;
    krow = f, f += rd;
    qv = f, f += rd;
    dov = f, f += rd;
    dk = f, f += rd;
    dv = f, f += rd;
    s = f, f += static_cast<std::size_t>(kTileQ) * kTileK;
    dp = f;
    masks = reinterpret_cast<RowMasks*>(mine + BackwardLayout::align(sizeof(float) * L.dq_floats) +
                                        BackwardLayout::align(sizeof(float) * L.tile_floats));
  }
};

// Calls f(std::integral_constant<int, R>, r) for blocks of R rows covering [r0, r1): blocks of R,
// then 4, 2, 1 (6 -> 4 -> 2 -> 1 or 4 -> 2 -> 1), as the forward's row_blocks.
template <int R, class F>
inline void for_row_blocks(int r0, int r1, F&& f) {
  for (; r0 + R <= r1; r0 += R) f(std::integral_constant<int, R>{}, r0);
  if constexpr (R > 1) for_row_blocks<(R == 6 ? 4 : R / 2)>(r0, r1, f);
}

// C[r][C vectors] += sum_{i < n} A[i][r] B[i][C vectors] for R rows of C, i.e. C += A^T B with A
// read in place (row stride kTileK): dV += P^T dO and dK += dS^T Q. B and C rows (stride ld) are
// aligned.
template <class V, int R, int C>
[[gnu::noinline]] void tn_block(const float* a, int n, const float* b, int ld, float* c) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int v = 0; v < C; ++v) acc[r][v] = V::load_aligned(c + r * ld + v * W);
  for (int i = 0; i < n; ++i) {
    V bv[C];
    ATTN_UNROLL for (int v = 0; v < C; ++v) bv[v] = V::load_aligned(b + static_cast<std::size_t>(i) * ld + v * W);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const V ar(a[i * kTileK + r]);
      ATTN_UNROLL for (int v = 0; v < C; ++v) acc[r][v] = simd::vfma(ar, bv[v], acc[r][v]);
    }
  }
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int v = 0; v < C; ++v) acc[r][v].store_aligned(c + r * ld + v * W);
}

// tn_block over all Dp / W vectors of C: blocks of C, then 2, then 1 (as pv_rows).
template <class V, int R, int C>
inline void tn_rows(const float* a, int n, const float* b, int Dp, float* c) {
  constexpr int W = static_cast<int>(V::size);
  const int nvec = Dp / W;
  int v0 = 0;
  for (; v0 + C <= nvec; v0 += C) tn_block<V, R, C>(a, n, b + v0 * W, Dp, c + v0 * W);
  if constexpr (C >= 4) {
    if (v0 + 2 <= nvec) {
      tn_block<V, R, 2>(a, n, b + v0 * W, Dp, c + v0 * W);
      v0 += 2;
    }
  }
  for (; v0 < nvec; ++v0) tn_block<V, R, 1>(a, n, b + v0 * W, Dp, c + v0 * W);
}

// One row: S -> P = 2^(S + mask - lse2) and dP -> dS = scale P (dP - di), over key vectors
// [c0, c1); the other vectors are masked for the row's whole block and become zeros (the dV and
// dK products read every key of the tile).
template <class V>
inline void p_ds_row(float* s, float* dp, int c0, int c1, const float* add1, const float* add2, float lse2, float di,
                     float scale) {
  constexpr int W = static_cast<int>(V::size);
  for (int c = 0; c < kTileK / W; ++c) {
    if (c < c0 || c >= c1) {
      V(0.0f).store_aligned(s + c * W);
      V(0.0f).store_aligned(dp + c * W);
      continue;
    }
    V x = V::load_aligned(s + c * W);
    if (add1) x = x + V::load_unaligned(add1 + c * W);
    if (add2) x = x + V::load_unaligned(add2 + c * W);
    const V p = simd::vexp2_softmax(x - V(lse2));
    p.store_aligned(s + c * W);
    ((V::load_aligned(dp + c * W) - V(di)) * (p * V(scale))).store_aligned(dp + c * W);
  }
}

// What one (key tile, query tile) pair reads besides the scratch.
struct PairInputs {
  const float* q;     // rows x D, in place (Q.K^T broadcasts its elements)
  const float* dout;  // rows x D, in place
  const float* lse2;  // per row: lse log2(e) (+inf for a row that sees no key)
  const float* di;    // per row: dO . O
  float* dq;          // this thread's dQ copy, rows x Dp
  int rows, kn, D, Dp;
  float scale;
  const RowMasks* masks;  // null: every key of the tile is visible to every row
};

// The five products of one pair; dQ, dK and dV accumulate.
template <class V>
void backward_pair(const PairInputs& x, BackwardScratch& ws) {
  using Blk = Blocking<V>;
  constexpr int W = Blk::W, CV = Blk::CV;
  constexpr int CQ = (Blk::CQ * W > kTileK) ? kTileK / W : Blk::CQ;
  const int D = x.D, Dp = x.Dp;
  int jb[kTileQ], je[kTileQ];  // per row: its block's visible keys
  // S = Q K^T for each row block, on the keys some row of the block sees.
  for_row_blocks<Blk::R>(0, x.rows, [&](auto rc, int rb) {
    constexpr int R = decltype(rc)::value;
    int lo, hi;
    key_span(x.masks, rb, R, lo, hi);
    for (int r = rb; r < rb + R; ++r) jb[r] = lo, je[r] = hi;
    qk_cols<V, R, CQ>(x.q + static_cast<std::size_t>(rb) * D, D, ws.kt, lo / W * W, round_up(hi, W),
                      ws.s + rb * kTileK);
  });
  // dP = dO V^T on the same keys, then P and dS row by row.
  for_row_blocks<Blk::R>(0, x.rows, [&](auto rc, int rb) {
    constexpr int R = decltype(rc)::value;
    const int c0 = jb[rb] / W, c1 = round_up(je[rb], W) / W;
    qk_cols<V, R, CQ>(x.dout + static_cast<std::size_t>(rb) * D, D, ws.vt, c0 * W, c1 * W, ws.dp + rb * kTileK);
    for (int r = rb; r < rb + R; ++r)
      p_ds_row<V>(ws.s + r * kTileK, ws.dp + r * kTileK, c0, c1, x.masks ? x.masks->first(r) : nullptr,
                  x.masks ? x.masks->second(r) : nullptr, x.lse2[r], x.di[r], x.scale);
  });
  // dQ += dS K.
  for_row_blocks<Blk::R>(0, x.rows, [&](auto rc, int rb) {
    constexpr int R = decltype(rc)::value;
    pv_rows<V, R, CV>(ws.dp + rb * kTileK, jb[rb], je[rb], ws.krow, Dp, x.dq + static_cast<std::size_t>(rb) * Dp,
                      nullptr);
  });
  // dV += P^T dO and dK += dS^T Q, R keys at a time.
  for_row_blocks<Blk::R>(0, x.kn, [&](auto rc, int j0) {
    constexpr int R = decltype(rc)::value;
    tn_rows<V, R, CV>(ws.s + j0, x.rows, ws.dov, Dp, ws.dv + static_cast<std::size_t>(j0) * Dp);
  });
  for_row_blocks<Blk::R>(0, x.kn, [&](auto rc, int j0) {
    constexpr int R = decltype(rc)::value;
    tn_rows<V, R, CV>(ws.dp + j0, x.rows, ws.qv, Dp, ws.dk + static_cast<std::size_t>(j0) * Dp);
  });
}

// D_i = dO_i . O_i (double sums: O(N D) work) and lse log2(e) of every row, +inf for a row that
// sees no key so that its P is 0 (its masked scores are -inf, and -inf - -inf would be NaN).
inline void backward_rows(const FlashBackwardArgs& a, float* lse2, float* di) {
  const Problem& P = *a.p;
  const long rows = static_cast<long>(P.B) * P.H * P.Nq;
#pragma omp for schedule(static)
  for (long row = 0; row < rows; ++row) {
    const float l = a.lse[row];
    lse2[row] = l == -std::numeric_limits<float>::infinity() ? std::numeric_limits<float>::infinity()
                                                              : l * 1.4426950408889634f;
    const float* g = a.dout + row * P.D;
    const float* o = a.o + row * P.D;
    double sum = 0;
    for (int d = 0; d < P.D; ++d) sum += static_cast<double>(g[d]) * o[d];
    di[row] = static_cast<float>(sum);
  }
}

// Copies n rows of D floats from acc (stride Dp) to out (stride D) and zeros rows [n, total).
inline void store_rows(const float* acc, int n, int total, int D, int Dp, float* out) {
  for (int j = 0; j < n; ++j) std::memcpy(out + static_cast<long>(j) * D, acc + static_cast<std::size_t>(j) * Dp, sizeof(float) * D);
  std::memset(out + static_cast<long>(n) * D, 0, sizeof(float) * (total - n) * D);
}

template <class Arch>
void flash_backward(const FlashBackwardArgs& a) {
  using V = simd::Vec<Arch>;
  constexpr int W = static_cast<int>(V::size);
  const Problem& P = *a.p;
  const BackwardLayout L(P, W);
  char* base = static_cast<char*>(a.workspace);
  float* lse2 = reinterpret_cast<float*>(base);
  float* di = lse2 + L.rows;
  const int D = P.D, Dp = L.Dp, group = P.H / P.Hkv;
  const float scale = P.effective_scale();
  const long kv_heads = static_cast<long>(P.B) * P.Hkv;
  const long tasks = kv_heads * L.k_tiles;

#pragma omp parallel num_threads(a.threads)
  {
    BackwardScratch ws(base + L.row_bytes + L.thread_bytes * omp_get_thread_num(), L, D);
    std::fill(ws.dq, ws.dq + L.dq_floats, 0.0f);
    backward_rows(a, lse2, di);  // ends with a barrier
    // Key tile outermost: under causal masks the first key tiles have the most query tiles, so
    // they are handed out first.
#pragma omp for schedule(dynamic, 1)
    for (long t = 0; t < tasks; ++t) {
      const int kt = static_cast<int>(t / kv_heads);
      const long kvhead = t % kv_heads;
      const int b = static_cast<int>(kvhead / P.Hkv), g = static_cast<int>(kvhead % P.Hkv);
      const int k0 = kt * kTileK;
      const int tile_keys = std::min(kTileK, P.Nk - k0);
      const int kn = std::clamp(P.valid_k(b) - k0, 0, tile_keys);
      const std::size_t kv_off = (static_cast<std::size_t>(kvhead) * P.Nk + k0) * D;
      if (kn == 0) {  // past this item's length: zero gradients
        store_rows(nullptr, 0, tile_keys, D, Dp, a.grads.dk + kv_off);
        store_rows(nullptr, 0, tile_keys, D, Dp, a.grads.dv + kv_off);
        continue;
      }
      pack_key_tile<V>(a.in.k + kv_off, kn, D, scale * 1.4426950408889634f, ws.kt);
      pack_key_tile<V>(a.in.v + kv_off, kn, D, 1.0f, ws.vt);
      pack_value_tile(a.in.k + kv_off, kn, D, Dp, ws.krow);
      std::fill(ws.dk, ws.dk + static_cast<std::size_t>(kTileK) * Dp, 0.0f);
      std::fill(ws.dv, ws.dv + static_cast<std::size_t>(kTileK) * Dp, 0.0f);
      for (int hh = 0; hh < group; ++hh) {
        const int h = g * group + hh;
        const long bh = static_cast<long>(b) * P.H + h;
        const int lh = a.plan.layout_heads == 1 ? 0 : h;
        const std::size_t slot = static_cast<std::size_t>(lh) * a.plan.k_tiles + kt;
        for (uint32_t e = a.plan.begin[slot]; e < a.plan.begin[slot + 1]; ++e) {
          const QueryTileRef ref = a.plan.refs[e];
          if (ref.kind == TileKind::empty) continue;
          const int q0 = ref.q_tile * kTileQ;
          const int rows = std::min({kTileQ, P.Nq - q0, P.valid_q(b) - q0});
          if (rows <= 0) continue;
          const bool masked = ref.kind != TileKind::full || kn < kTileK;
          if (masked) {
            if (ref.kind == TileKind::band) a.mask->row_bands(q0, rows, ws.masks->band_lo, ws.masks->band_hi);
            build_row_masks(*a.mask, [&](int r) { return std::pair<int, long>(h, q0 + r); }, rows, k0, kn, ref.kind,
                            *ws.masks);
          }
          const long row0 = bh * P.Nq + q0;
          pack_value_tile(a.in.q + row0 * D, rows, D, Dp, ws.qv);
          pack_value_tile(a.dout + row0 * D, rows, D, Dp, ws.dov);
          PairInputs x{a.in.q + row0 * D, a.dout + row0 * D, lse2 + row0, di + row0,
                       ws.dq + static_cast<std::size_t>(row0) * Dp, rows, kn, D, Dp, scale,
                       masked ? ws.masks : nullptr};
          backward_pair<V>(x, ws);
        }
      }
      store_rows(ws.dk, kn, tile_keys, D, Dp, a.grads.dk + kv_off);
      store_rows(ws.dv, kn, tile_keys, D, Dp, a.grads.dv + kv_off);
    }
    // dQ = the sum of every thread's copy (rows nobody wrote are zeros in every copy).
    const int team = omp_get_num_threads();
    const char* copies = base + L.row_bytes;
#pragma omp for schedule(static)
    for (long row = 0; row < static_cast<long>(L.rows); ++row) {
      float* out = a.grads.dq + row * D;
      for (int d = 0; d < D; ++d) {
        float sum = 0;
        for (int t = 0; t < team; ++t)
          sum += reinterpret_cast<const float*>(copies + L.thread_bytes * t)[static_cast<std::size_t>(row) * Dp + d];
        out[d] = sum;
      }
    }
  }
}

}  // namespace attn::kernels
