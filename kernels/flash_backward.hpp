// The FlashAttention-2 backward, written once against simd::Vec<Arch> from the forward engine's
// pieces (key packing, the Q.K^T and P.V micro-kernels, row masks, exp2).
//
// Tasks are (batch, kv head, group of up to 4 key tiles): the tiles' dK and dV accumulate in the
// task's own scratch over every query head of the GQA group and every query tile that visits them
// (the forward's block plan transposed, built by the plan), so no two threads write one dK/dV row
// and nothing is atomic. dQ rows receive from every key tile: a query tile's contributions from
// the task's key tiles accumulate in an L1 tile, then are added to the thread's dQ, which is the
// output itself for thread 0 and a float32 copy [B, H, Nq, D] for each other thread, summed into
// the output at the end. Grouping key tiles divides the traffic of Q, dO and dQ rows (which come
// from L3 once N D outgrows L2) by the group size; the next query tile's rows are prefetched
// while the current one computes. Extra memory: (threads - 1) x B H Nq D floats for the copies,
// 2 B H Nq floats (D_i, the log-sum-exp in log2 units) and O(group x tile) scratch per thread.
//
// Per (key tile, query tile) pair, five products, each over the whole pair before the next so its
// operand tile stays in L1 (32 KiB each at D = 128; the P.V-shaped products go 4 vectors of the
// head dimension at a time to halve that):
//   S  = Q K^T  (K^T packed with scale log2(e) folded in, as the forward)  P  = 2^(S - lse log2 e)
//   dP = dO V^T (V^T packed)                                               dS = scale P (dP - D_i)
//   dQ += dS K,  dV += P^T dO,  dK += dS^T Q
// P is recomputed from the forward's log-sum-exp with the forward's own Q.K^T, masked exactly as
// the forward (the plan's tile kinds and build_row_masks); on unmasked tiles without score
// modifiers P and dS are made in the dP product's registers (dp_ds_block), else by a row pass.
// D_i = dO_i . O_i, once per call. Q, dO and K rows are read in place when every row starts on a
// vector boundary, else copied (padded to whole vectors).
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "flash_backward_args.hpp"
#include "masked_attention.hpp"

namespace attn::kernels {

// Key tiles per task: up to 4 (they share each query tile's Q, dO and dQ traffic), fewer when
// that would leave under 4 tasks per thread.
inline int key_tiles_per_task(const Problem& P, int threads) {
  const long kv_heads = static_cast<long>(P.B) * P.Hkv, k_tiles = (P.Nk + kTileK - 1) / kTileK;
  int kb = 4;
  while (kb > 1 && kv_heads * ((k_tiles + kb - 1) / kb) < 4L * threads) kb /= 2;
  return kb;
}

// Where everything lives in the workspace: D_i and lse log2(e) of every row, per thread its tile
// scratch and RowMasks, then the dQ copies of threads 1 .. threads - 1. Every region starts on a
// 64-byte boundary.
struct BackwardLayout {
  static std::size_t align(std::size_t bytes) { return (bytes + 63) / 64 * 64; }
  int k_tiles, Dp, kb;
  std::size_t rows, row_bytes, key_floats, tile_floats, thread_bytes, copy_bytes;
  BackwardLayout(const Problem& P, int W, int threads) {
    k_tiles = (P.Nk + kTileK - 1) / kTileK;
    kb = key_tiles_per_task(P, threads);
    Dp = (P.D + W - 1) / W * W;
    rows = static_cast<std::size_t>(P.B) * P.H * P.Nq;
    row_bytes = align(sizeof(float) * 2 * rows);
    const std::size_t kd = static_cast<std::size_t>(P.D) * kTileK, rd = static_cast<std::size_t>(kTileK) * Dp;
    // Per key tile: K^T, V^T [D][kTileK], the dK, dV accumulators and a K copy [kTileK][Dp].
    key_floats = 2 * kd + 3 * rd;
    // Then the query tile's dQ accumulator, Q and dO copies, S/P and dP/dS [kTileQ][kTileK].
    tile_floats = kb * key_floats + 3 * rd + 2 * static_cast<std::size_t>(kTileQ) * kTileK;
    thread_bytes = align(sizeof(float) * tile_floats) + align(sizeof(RowMasks));
    copy_bytes = align(sizeof(float) * rows * P.D);
  }
  std::size_t total(int threads) const { return row_bytes + thread_bytes * threads + copy_bytes * (threads - 1); }
};

template <class Arch>
std::size_t flash_backward_workspace(const Problem& p, int threads) {
  return BackwardLayout(p, static_cast<int>(simd::Vec<Arch>::size), threads).total(threads);
}

// One key tile of a task: its packed K^T and V^T, its K rows, its dK and dV accumulators.
struct KeyTileBuffers {
  float *kt, *vt;    // [D][kTileK]
  const float* krow;  // K rows as vectors: the caller's (stride D) or the padded copy (stride Dp)
  float* kcopy;      // the padded copy (unused when read in place)
  float *dk, *dv;    // [kTileK][Dp]
  int k0 = 0, kn = 0, tile_keys = 0;
  std::size_t kv_off = 0;  // offset of its first row in K, V, dK, dV
};

// One thread's pieces of the workspace.
struct BackwardScratch {
  KeyTileBuffers keys[4];
  float *qv, *dov;  // [kTileQ][Dp] copies, zero-padded (unused when read in place)
  float* dq;        // the query tile's dQ accumulator [kTileQ][Dp]
  float *s, *dp;    // S then P, dP then dS: [kTileQ][kTileK]
  RowMasks* masks;
  BackwardScratch(char* mine, const BackwardLayout& L, int D) {
    float* f = reinterpret_cast<float*>(mine);
    const std::size_t kd = static_cast<std::size_t>(D) * kTileK, rd = static_cast<std::size_t>(kTileK) * L.Dp;
    for (int k = 0; k < L.kb; ++k) {
      KeyTileBuffers& t = keys[k];
      t.kt = f, f += kd;
      t.vt = f, f += kd;
      t.dk = f, f += rd;
      t.dv = f, f += rd;
      t.kcopy = f, f += rd;
    }
    dq = f, f += rd;
    qv = f, f += rd;
    dov = f, f += rd;
    s = f, f += static_cast<std::size_t>(kTileQ) * kTileK;
    dp = f;
    masks = reinterpret_cast<RowMasks*>(mine + BackwardLayout::align(sizeof(float) * L.tile_floats));
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
// read in place (row stride kTileK): dV += P^T dO and dK += dS^T Q. B rows (stride ldb) may be
// the caller's; C rows (stride ldc) are aligned.
template <class V, int R, int C>
[[gnu::noinline]] void tn_block(const float* a, int n, const float* b, int ldb, float* c, int ldc) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int v = 0; v < C; ++v) acc[r][v] = V::load_aligned(c + r * ldc + v * W);
  for (int i = 0; i < n; ++i) {
    V bv[C];
    ATTN_UNROLL for (int v = 0; v < C; ++v) bv[v] = V::load_unaligned(b + static_cast<std::size_t>(i) * ldb + v * W);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const V ar(a[i * kTileK + r]);
      ATTN_UNROLL for (int v = 0; v < C; ++v) acc[r][v] = simd::vfma(ar, bv[v], acc[r][v]);
    }
  }
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int v = 0; v < C; ++v) acc[r][v].store_aligned(c + r * ldc + v * W);
}

// Runs f(std::integral_constant<int, C>, v0) over the Dp / W vectors of a row: slabs of C, then 2,
// then 1 (as pv_rows). The P.V-shaped products loop slabs outermost, so one slab of their
// streamed operand (64 rows x C vectors: 16 KiB) stays in L1 across the row blocks.
template <class V, int C, class F>
inline void for_slabs(int Dp, F&& f) {
  constexpr int W = static_cast<int>(V::size);
  const int nvec = Dp / W;
  int v0 = 0;
  for (; v0 + C <= nvec; v0 += C) f(std::integral_constant<int, C>{}, v0);
  if constexpr (C >= 4) {
    if (v0 + 2 <= nvec) {
      f(std::integral_constant<int, 2>{}, v0);
      v0 += 2;
    }
  }
  for (; v0 < nvec; ++v0) f(std::integral_constant<int, 1>{}, v0);
}

// C [kn rows][Dp] += A^T B over n rows of A (kTileK stride) and B (stride ldb).
template <class V>
inline void tn_tile(const float* a, int n, int kn, const float* b, int ldb, float* c, int Dp) {
  using Blk = Blocking<V>;
  constexpr int W = Blk::W;
  for_slabs<V, Blk::CV>(Dp, [&](auto cc, int v0) {
    constexpr int C = decltype(cc)::value;
    for_row_blocks<Blk::R>(0, kn, [&](auto rc, int j0) {
      constexpr int R = decltype(rc)::value;
      tn_block<V, R, C>(a + j0, n, b + v0 * W, ldb, c + static_cast<std::size_t>(j0) * Dp + v0 * W, Dp);
    });
  });
}

// One row: S -> P = 2^(S + mask - lse2) and dP -> dS = scale P (dP - di), over key vectors
// [c0, c1); the other vectors are masked for the row's whole block and become zeros (the dV and
// dK products read every key of the tile). With score modifiers (as the forward: softcap, then
// ALiBi, then the mask; log2 domain), softcap's x = cap tanh(u / cap) also multiplies dS by
// dx/du = 1 - (x / cap)^2; ALiBi's constant has no derivative; the sink is in lse2 already.
// kMods = false (no softcap, no ALiBi) folds their tests away, so the exp2 constants stay in
// registers across the row instead of being reloaded per vector (measured: 7% of the backward
// at D = 64 went here); inlined so that they stay across a row block too.
template <class V, bool kMods>
[[gnu::always_inline]] inline void p_ds_row(float* s, float* dp, int c0, int c1, const float* add1, const float* add2,
                                            float lse2, float di, float scale, float cap, const RowMods* alibi) {
  constexpr int W = static_cast<int>(V::size);
  if constexpr (!kMods) cap = 0.0f, alibi = nullptr;
  const V vcap(cap), vinv(cap > 0.0f ? 1.0f / cap : 0.0f);
  for (int c = 0; c < kTileK / W; ++c) {
    if (c < c0 || c >= c1) {
      V(0.0f).store_aligned(s + c * W);
      V(0.0f).store_aligned(dp + c * W);
      continue;
    }
    V x = V::load_aligned(s + c * W);
    V dscale(scale);
    if (cap > 0.0f) {
      const V t = simd::vtanh(x * vinv);
      x = vcap * t;
      dscale = dscale * (V(1.0f) - t * t);
    }
    if (alibi) x = apply_mods(x, c, *alibi);
    if (add1) x = x + V::load_unaligned(add1 + c * W);
    if (add2) x = x + V::load_unaligned(add2 + c * W);
    const V p = simd::vexp2_softmax(x - V(lse2));
    p.store_aligned(s + c * W);
    ((V::load_aligned(dp + c * W) - V(di)) * (p * dscale)).store_aligned(dp + c * W);
  }
}

// dP = dO V^T for R rows and C vectors of keys, then, still in registers, P = 2^(S - lse2) (S read
// from s, P written back) and dS = scale P (dP - D_i) into dp: the unmasked, unmodified tiles'
// P and dS without a second pass over S and dP. Rows of s and dp are kTileK apart.
template <class V, int R, int C>
[[gnu::noinline]] void dp_ds_block(const float* g, int D, const float* vt, float* s, float* dp, const float* lse2,
                                   const float* di, float scale) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  rows_times_tile<V, R, C>(g, D, vt, acc);
  ATTN_UNROLL for (int r = 0; r < R; ++r) {
    const V l(lse2[r]), dr(di[r]), sc(scale);
    ATTN_UNROLL for (int c = 0; c < C; ++c) {
      const V p = simd::vexp2_softmax(V::load_aligned(s + r * kTileK + c * W) - l);
      p.store_aligned(s + r * kTileK + c * W);
      ((acc[r][c] - dr) * (p * sc)).store_aligned(dp + r * kTileK + c * W);
    }
  }
}

// What one (key tile, query tile) pair reads besides the scratch.
struct PairInputs {
  const float* q;     // rows x D, in place (Q.K^T broadcasts its elements)
  const float* dout;  // rows x D, in place
  const float* qv;    // Q rows as vectors: q (stride D) or the padded copy (stride Dp)
  const float* dov;   // dO rows likewise
  int ld;             // their row stride (and the key tile's krow's): D in place, else Dp
  const float* lse2;  // per row: lse log2(e) (+inf for a row that sees no key)
  const float* di;    // per row: dO . O
  int rows, D, Dp;
  float scale;
  const RowMasks* masks;  // null: every key of the tile is visible to every row
  // The next query tile's Q, dO and dQ rows (kTileQ x D each, or null): fetched into L2 while
  // this one computes. They were last touched a task ago, so they come from L3 or memory
  // otherwise, and the dQ flush and Q.K^T wait for them (measured: the flush alone took 5%).
  const float *next_q, *next_dout, *next_dq;
  int next_rows = 0;  // rows of that tile (the prefetches stay inside it)
  // Score modifiers in the log2 domain: log2(e) C (0: no softcap), log2(e) slope_h (0: no
  // ALiBi) and the position of the tile's first row.
  float cap = 0.0f, slope = 0.0f, pos0 = 0.0f;
};

// Fetches rows [r0, r0 + n) of a kTileQ x D block into L2 (prefetcht1), one cache line at a time.
inline void prefetch_rows(const float* base, int r0, int n, int D) {
  if (!base) return;
  const char* p = reinterpret_cast<const char*>(base + static_cast<long>(r0) * D);
  const long bytes = static_cast<long>(n) * D * sizeof(float);
  for (long off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 2);
}

// The five products of one (key tile, query tile) pair: dK, dV and the query tile's dQ
// accumulate in the scratch.
template <class V>
void backward_pair(const PairInputs& x, KeyTileBuffers& kt, BackwardScratch& ws) {
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
    if (rb < x.next_rows) prefetch_rows(x.next_q, rb, std::min(R, x.next_rows - rb), D);
    qk_cols<V, R, CQ>(x.q + static_cast<std::size_t>(rb) * D, D, kt.kt, lo / W * W, round_up(hi, W),
                      ws.s + rb * kTileK);
  });
  // dP = dO V^T on the same keys, then P and dS: in registers when nothing masks or modifies the
  // scores (measured: 2.7% fewer instructions, ~1.5% less time at D = 64), else row by row.
  for_row_blocks<Blk::R>(0, x.rows, [&](auto rc, int rb) {
    constexpr int R = decltype(rc)::value;
    const int c0 = jb[rb] / W, c1 = round_up(je[rb], W) / W;
    if (rb < x.next_rows) {
      prefetch_rows(x.next_dout, rb, std::min(R, x.next_rows - rb), D);
      prefetch_rows(x.next_dq, rb, std::min(R, x.next_rows - rb), D);
    }
    if (!x.masks && x.cap == 0.0f && x.slope == 0.0f) {
      for (int c = 0; c < kTileK; c += CQ * W)
        dp_ds_block<V, R, CQ>(x.dout + static_cast<std::size_t>(rb) * D, D, kt.vt + c, ws.s + rb * kTileK + c,
                              ws.dp + rb * kTileK + c, x.lse2 + rb, x.di + rb, x.scale);
      return;
    }
    qk_cols<V, R, CQ>(x.dout + static_cast<std::size_t>(rb) * D, D, kt.vt, c0 * W, c1 * W, ws.dp + rb * kTileK);
    auto p_ds_rows = [&](auto mods) {
      for (int r = rb; r < rb + R; ++r) {
        const RowMods alibi{x.slope, x.slope * (static_cast<float>(kt.k0) - (x.pos0 + static_cast<float>(r)))};
        p_ds_row<V, decltype(mods)::value>(ws.s + r * kTileK, ws.dp + r * kTileK, c0, c1,
                                           x.masks ? x.masks->first(r) : nullptr,
                                           x.masks ? x.masks->second(r) : nullptr, x.lse2[r], x.di[r], x.scale,
                                           x.cap, x.slope != 0.0f ? &alibi : nullptr);
      }
    };
    if (x.cap > 0.0f || x.slope != 0.0f)
      p_ds_rows(std::true_type{});
    else
      p_ds_rows(std::false_type{});
  });
  // dQ += dS K.
  for_slabs<V, CV>(Dp, [&](auto cc, int v0) {
    constexpr int C = decltype(cc)::value;
    for_row_blocks<Blk::R>(0, x.rows, [&](auto rc, int rb) {
      constexpr int R = decltype(rc)::value;
      pv_block<V, R, C>(ws.dp + rb * kTileK, jb[rb], je[rb], kt.krow + v0 * W, x.ld,
                        ws.dq + static_cast<std::size_t>(rb) * Dp + v0 * W, nullptr);
    });
  });
  // dV += P^T dO and dK += dS^T Q, R keys at a time.
  tn_tile<V>(ws.s, x.rows, kt.kn, x.dov, x.ld, kt.dv, Dp);
  tn_tile<V>(ws.dp, x.rows, kt.kn, x.qv, x.ld, kt.dk, Dp);
}

// dst rows (stride D) += the first D columns of src rows (stride Dp).
template <class V>
inline void add_rows(const float* src, int rows, int D, int Dp, float* dst) {
  constexpr int W = static_cast<int>(V::size);
  const int d_vec = D / W * W;
  for (int r = 0; r < rows; ++r) {
    const float* s = src + static_cast<std::size_t>(r) * Dp;
    float* d = dst + static_cast<long>(r) * D;
    for (int c = 0; c < d_vec; c += W) (V::load_unaligned(d + c) + V::load_aligned(s + c)).store_unaligned(d + c);
    for (int c = d_vec; c < D; ++c) d[c] += s[c];
  }
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

// The query tiles one task visits for one head, in increasing order: a merge of its key tiles'
// lists (each sorted), which may differ (causal diagonals, windows, holes).
struct QueryTileMerge {
  const QueryTileRef* refs;
  uint32_t cur[4], end[4];
  int n;
  // The smallest query tile left, or -1.
  int peek() const {
    int qt = -1;
    for (int k = 0; k < n; ++k)
      if (cur[k] < end[k] && (qt < 0 || refs[cur[k]].q_tile < qt)) qt = refs[cur[k]].q_tile;
    return qt;
  }
  // Kinds of query tile qt against each key tile (empty where it is not listed), then past it.
  void take(int qt, TileKind* kinds) {
    for (int k = 0; k < n; ++k) {
      kinds[k] = TileKind::empty;
      if (cur[k] < end[k] && refs[cur[k]].q_tile == qt) kinds[k] = refs[cur[k]++].kind;
    }
  }
};

template <class Arch>
void flash_backward(const FlashBackwardArgs& a) {
  using V = simd::Vec<Arch>;
  constexpr int W = static_cast<int>(V::size);
  const Problem& P = *a.p;
  const BackwardLayout L(P, W, a.threads);
  char* base = static_cast<char*>(a.workspace);
  float* lse2 = reinterpret_cast<float*>(base);
  float* di = lse2 + L.rows;
  char* copies = base + L.row_bytes + L.thread_bytes * a.threads;
  const int D = P.D, Dp = L.Dp, group = P.H / P.Hkv;
  const float scale = P.effective_scale();
  const long kv_heads = static_cast<long>(P.B) * P.Hkv;
  const long tasks = kv_heads * ((L.k_tiles + L.kb - 1) / L.kb);
  const std::size_t tile = static_cast<std::size_t>(kTileK) * Dp;
  // Q, dO and K rows are read where they lie only when every row starts on a vector boundary:
  // otherwise 3 of 4 AVX-512 loads of the P.V-shaped products split across cache lines (a
  // vector-aligned copy per query tile, shared by its key tiles, costs less).
  auto aligned = [&](const float* x) { return reinterpret_cast<std::uintptr_t>(x) % (sizeof(float) * W) == 0; };
  const bool in_place = D % W == 0 && aligned(a.in.q) && aligned(a.dout) && aligned(a.in.k);
  // The merged query-tile list of item b's head h for the key tiles [kt0, kt0 + n).
  auto merge_for = [&](int b, int h, int kt0, int n) {
    QueryTileMerge m;
    m.refs = a.plan.refs, m.n = n;
    const std::size_t slot0 = a.plan.slot(b, h, kt0);
    for (int k = 0; k < n; ++k) m.cur[k] = a.plan.begin[slot0 + k], m.end[k] = a.plan.begin[slot0 + k + 1];
    return m;
  };

#pragma omp parallel num_threads(a.threads)
  {
    const int tid = omp_get_thread_num();
    BackwardScratch ws(base + L.row_bytes + L.thread_bytes * tid, L, D);
    // This thread's dQ: the output itself for thread 0, a copy for the others.
    float* dq_mine = tid == 0 ? a.grads.dq : reinterpret_cast<float*>(copies + L.copy_bytes * (tid - 1));
    std::fill(dq_mine, dq_mine + L.rows * D, 0.0f);
    backward_rows(a, lse2, di);  // ends with a barrier
    // Key tiles outermost: under causal masks the first key tiles have the most query tiles, so
    // they are handed out first.
#pragma omp for schedule(dynamic, 1)
    for (long t = 0; t < tasks; ++t) {
      const int kt0 = static_cast<int>(t / kv_heads) * L.kb;
      const long kvhead = t % kv_heads;
      const int b = static_cast<int>(kvhead / P.Hkv), g = static_cast<int>(kvhead % P.Hkv);
      const int nk = std::min(L.kb, L.k_tiles - kt0);
      for (int k = 0; k < nk; ++k) {
        KeyTileBuffers& kb = ws.keys[k];
        kb.k0 = (kt0 + k) * kTileK;
        kb.tile_keys = std::min(kTileK, P.Nk - kb.k0);
        kb.kn = std::clamp(P.valid_k(b) - kb.k0, 0, kb.tile_keys);  // 0: past this item's length
        kb.kv_off = (static_cast<std::size_t>(kvhead) * P.Nk + kb.k0) * D;
        if (kb.kn == 0) continue;
        pack_key_tile<V>(a.in.k + kb.kv_off, kb.kn, D, scale * 1.4426950408889634f, kb.kt);
        pack_key_tile<V>(a.in.v + kb.kv_off, kb.kn, D, 1.0f, kb.vt);
        kb.krow = a.in.k + kb.kv_off;
        if (!in_place) pack_value_tile(a.in.k + kb.kv_off, kb.kn, D, Dp, kb.kcopy), kb.krow = kb.kcopy;
        std::fill(kb.dk, kb.dk + tile, 0.0f);
        std::fill(kb.dv, kb.dv + tile, 0.0f);
      }
      for (int hh = 0; hh < group; ++hh) {
        const int h = g * group + hh;
        const long bh = static_cast<long>(b) * P.H + h;
        QueryTileMerge m = merge_for(b, h, kt0, nk);
        for (int qt = m.peek(); qt >= 0;) {
          TileKind kinds[4];
          m.take(qt, kinds);
          const int next_qt = m.peek();
          // The next query tile: this head's, or the next head's first.
          long next_row0 = next_qt >= 0 ? bh * P.Nq + static_cast<long>(next_qt) * kTileQ : -1;
          if (next_qt < 0 && hh + 1 < group) {
            const int first = merge_for(b, h + 1, kt0, nk).peek();
            if (first >= 0) next_row0 = (bh + 1) * P.Nq + static_cast<long>(first) * kTileQ;
          }
          const int q0 = qt * kTileQ;
          const int rows = std::min({kTileQ, P.Nq - q0, P.valid_q(b) - q0});
          qt = next_qt;
          if (rows <= 0) continue;
          const long row0 = bh * P.Nq + q0;
          const float* q = a.in.q + row0 * D;
          const float* dout = a.dout + row0 * D;
          if (!in_place) {
            pack_value_tile(q, rows, D, Dp, ws.qv);
            pack_value_tile(dout, rows, D, Dp, ws.dov);
          }
          PairInputs x{q, dout, in_place ? q : ws.qv, in_place ? dout : ws.dov, Dp, lse2 + row0, di + row0,
                       rows, D, Dp, scale, nullptr, nullptr, nullptr, nullptr};
          x.cap = 1.4426950408889634f * a.mods.softcap;
          x.slope = a.mods.alibi ? 1.4426950408889634f * a.mods.alibi[h] : 0.0f;
          x.pos0 = static_cast<float>(P.position(q0));
          if (next_row0 >= 0) {
            x.next_rows = static_cast<int>(std::min<long>(kTileQ, (next_row0 / P.Nq + 1) * P.Nq - next_row0));
            x.next_q = a.in.q + next_row0 * D, x.next_dout = a.dout + next_row0 * D, x.next_dq = dq_mine + next_row0 * D;
          }
          std::fill(ws.dq, ws.dq + static_cast<std::size_t>(rows) * Dp, 0.0f);
          bool have_bands = false;
          for (int k = 0; k < nk; ++k) {
            KeyTileBuffers& kb = ws.keys[k];
            if (kinds[k] == TileKind::empty || kb.kn == 0) continue;
            const bool masked = kinds[k] != TileKind::full || kb.kn < kTileK;
            if (kinds[k] == TileKind::band && !have_bands) {
              a.mask->row_bands(q0, rows, ws.masks->band_lo, ws.masks->band_hi);
              have_bands = true;
            }
            if (masked)
              build_row_masks(*a.mask, [&](int r) { return std::pair<int, long>(h, q0 + r); }, rows, kb.k0, kb.kn,
                              kinds[k], *ws.masks);
            x.masks = masked ? ws.masks : nullptr;
            backward_pair<V>(x, kb, ws);
            // Prefetch the next query tile once, during the first pair.
            x.next_q = x.next_dout = x.next_dq = nullptr;
            x.next_rows = 0;
          }
          add_rows<V>(ws.dq, rows, D, Dp, dq_mine + row0 * D);
        }
      }
      for (int k = 0; k < nk; ++k) {
        const KeyTileBuffers& kb = ws.keys[k];
        store_rows(kb.dk, kb.kn, kb.tile_keys, D, Dp, a.grads.dk + kb.kv_off);
        store_rows(kb.dv, kb.kn, kb.tile_keys, D, Dp, a.grads.dv + kb.kv_off);
      }
    }
    // dQ += the other threads' copies (rows nobody wrote are zeros in every copy).
    const int team = omp_get_num_threads();
    if (team > 1) {
      const long chunk = 1024;
      const long elems = static_cast<long>(L.rows) * D;
#pragma omp for schedule(static)
      for (long c0 = 0; c0 < elems; c0 += chunk) {
        const long n = std::min(chunk, elems - c0);
        for (int t = 1; t < team; ++t) {
          const float* src = reinterpret_cast<const float*>(copies + L.copy_bytes * (t - 1)) + c0;
          float* dst = a.grads.dq + c0;
          for (long e = 0; e < n; ++e) dst[e] += src[e];
        }
      }
    }
  }
}

}  // namespace attn::kernels
