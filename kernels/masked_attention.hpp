// The tiled online-softmax attention engine, written once against simd::Vec<Arch>.
// dense, causal, window, block-sparse and every mask-defined variant run through it: they differ
// only in the block plan (which key tiles each query tile visits) and the element mask.
//
// Per query tile (64 rows) it keeps the output accumulator, the running max and the running sum
// in a small per-thread workspace; scores never exceed one 64 x 64 tile, so extra memory is
// O(tile) per thread plus one packed copy of K and V.
#pragma once
#include <omp.h>

#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "aligned_buffer.hpp"
#include "masked_attention_args.hpp"
#include "simd.hpp"

namespace attn::kernels {

// Register blocking: R query rows x C vectors of keys (Q.K^T) or of head dims (P.V).
// AVX-512 has 32 registers: 4 x 4 accumulators; 16-register ISAs use 4 x 2.
template <class V>
struct Blocking {
  static constexpr int W = static_cast<int>(V::size);
  static constexpr int R = 4;
  static constexpr int C = W >= 16 ? 4 : 2;
};

inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

// K packed per key tile as [D][kTileK] (keys contiguous, so a vector holds W keys of one dim);
// V packed as [Nk rounded up to a tile][Dp] with Dp = D rounded up to the vector width.
struct PackedKV {
  AlignedBuffer kt;
  AlignedBuffer v;
  int k_tiles = 0;
  int D = 0;
  int Dp = 0;
  std::size_t kt_head_stride() const { return static_cast<std::size_t>(k_tiles) * kTileK * D; }
  std::size_t v_head_stride() const { return static_cast<std::size_t>(k_tiles) * kTileK * Dp; }
};

inline void pack_kv(const MaskedAttentionArgs& a, int W, PackedKV& p) {
  p.D = a.D;
  p.k_tiles = (a.Nk + kTileK - 1) / kTileK;
  p.Dp = round_up(a.D, W);
  const long heads = static_cast<long>(a.B) * a.Hkv;
  p.kt.resize(heads * p.kt_head_stride());
  p.v.resize(heads * p.v_head_stride());
#pragma omp parallel for schedule(static)
  for (long t = 0; t < heads * p.k_tiles; ++t) {
    const long head = t / p.k_tiles;
    const int kt = static_cast<int>(t % p.k_tiles);
    const float* k = a.k + head * a.Nk * a.D;
    const float* v = a.v + head * a.Nk * a.D;
    float* kt_dst = p.kt.data() + head * p.kt_head_stride() + static_cast<std::size_t>(kt) * kTileK * a.D;
    float* v_dst = p.v.data() + head * p.v_head_stride() + static_cast<std::size_t>(kt) * kTileK * p.Dp;
    for (int j = 0; j < kTileK; ++j) {
      const long key = static_cast<long>(kt) * kTileK + j;
      float* vrow = v_dst + static_cast<std::size_t>(j) * p.Dp;
      if (key < a.Nk) {
        for (int d = 0; d < a.D; ++d) kt_dst[static_cast<std::size_t>(d) * kTileK + j] = k[key * a.D + d];
        std::memcpy(vrow, v + key * a.D, sizeof(float) * a.D);
      } else {
        for (int d = 0; d < a.D; ++d) kt_dst[static_cast<std::size_t>(d) * kTileK + j] = 0.0f;
        std::memset(vrow, 0, sizeof(float) * a.D);
      }
      std::memset(vrow + a.D, 0, sizeof(float) * (p.Dp - a.D));
    }
  }
}

// S[r][0..kTileK) = sum_d Qs[r][d] * Kt[d][.] for R rows.
template <class V, int R, int C>
inline void qk_block(const float* qs, int D, const float* kt, float* s) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = V(0.0f);
  for (int d = 0; d < D; ++d) {
    V kv[C];
    for (int c = 0; c < C; ++c) kv[c] = V::load_aligned(kt + static_cast<std::size_t>(d) * kTileK + c * W);
    for (int r = 0; r < R; ++r) {
      const V qb(qs[r * D + d]);
      for (int c = 0; c < C; ++c) acc[r][c] = simd::vfma(qb, kv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c].store_aligned(s + r * kTileK + c * W);
}

// O[r][C vectors] = alpha[r] * O[r] + sum_{j < kn} P[r][j] * V[j][C vectors] for R rows.
template <class V, int R, int C>
inline void pv_block(const float* p, int kn, const float* vp, int Dp, float* o, const float* alpha) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  for (int r = 0; r < R; ++r) {
    const V ar(alpha[r]);
    for (int c = 0; c < C; ++c) acc[r][c] = V::load_aligned(o + r * Dp + c * W) * ar;
  }
  for (int j = 0; j < kn; ++j) {
    V vv[C];
    for (int c = 0; c < C; ++c) vv[c] = V::load_aligned(vp + static_cast<std::size_t>(j) * Dp + c * W);
    for (int r = 0; r < R; ++r) {
      const V pb(p[r * kTileK + j]);
      for (int c = 0; c < C; ++c) acc[r][c] = simd::vfma(pb, vv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c].store_aligned(o + r * Dp + c * W);
}

// P.V over all head-dim vectors: blocks of C vectors, then the remainder with fewer.
template <class V, int R, int C>
inline void pv_rows(const float* p, int kn, const float* vp, int Dp, float* o, const float* alpha) {
  constexpr int W = static_cast<int>(V::size);
  const int nvec = Dp / W;
  int c0 = 0;
  for (; c0 + C <= nvec; c0 += C) pv_block<V, R, C>(p, kn, vp + c0 * W, Dp, o + c0 * W, alpha);
  if constexpr (C >= 4) {
    if (c0 + 2 <= nvec) {
      pv_block<V, R, 2>(p, kn, vp + c0 * W, Dp, o + c0 * W, alpha);
      c0 += 2;
    }
  }
  for (; c0 < nvec; ++c0) pv_block<V, R, 1>(p, kn, vp + c0 * W, Dp, o + c0 * W, alpha);
}

// Per-thread scratch for one query tile.
struct TileScratch {
  AlignedBuffer qs, s, o, m, l, alpha;
  std::vector<uint8_t> visible;
  TileScratch(int D, int Dp) : visible(kTileK) {
    qs.resize(static_cast<std::size_t>(kTileQ) * D);
    s.resize(static_cast<std::size_t>(kTileQ) * kTileK);
    o.resize(static_cast<std::size_t>(kTileQ) * Dp);
    m.resize(kTileQ);
    l.resize(kTileQ);
    alpha.resize(kTileQ);
  }
};

// Online-softmax update of one row of scores (log2 domain), turning them into probabilities.
template <class V>
inline void softmax_row(float* s, float& m, float& l, float& alpha) {
  constexpr int W = static_cast<int>(V::size);
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  V mx(neg_inf);
  for (int c = 0; c < kTileK; c += W) mx = simd::vmax(mx, V::load_aligned(s + c));
  const float m_new = std::max(m, simd::hmax(mx));
  if (m_new == neg_inf) {  // nothing visible yet in this row
    alpha = 1.0f;
    std::memset(s, 0, sizeof(float) * kTileK);
    return;
  }
  alpha = simd::vexp2(V(m - m_new)).get(0);
  const V mv(m_new);
  V sum(0.0f);
  for (int c = 0; c < kTileK; c += W) {
    const V pe = simd::vexp2(V::load_aligned(s + c) - mv);
    pe.store_aligned(s + c);
    sum = sum + pe;
  }
  l = l * alpha + simd::hsum(sum);
  m = m_new;
}

template <class Arch>
void masked_attention(const MaskedAttentionArgs& a) {
  using V = simd::Vec<Arch>;
  using Blk = Blocking<V>;
  constexpr int R = Blk::R, C = Blk::C, W = Blk::W;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  static_assert(kTileK % (C * W) == 0 && kTileQ % R == 0, "tiles must hold whole register blocks");

  PackedKV packed;
  pack_kv(a, W, packed);
  const int Dp = packed.Dp, D = a.D;
  const int q_tiles = (a.Nq + kTileQ - 1) / kTileQ;
  const int group = a.H / a.Hkv;
  // log2 domain: exp(scale * q.k) = 2^(scale * log2(e) * q.k), folded into the packed queries.
  const float qscale = a.scale * 1.4426950408889634f;
  const long tasks = static_cast<long>(a.B) * a.H * q_tiles;

#pragma omp parallel
  {
    TileScratch ws(D, Dp);
    // Later query tiles see more keys under causal masks: hand them out first.
#pragma omp for schedule(dynamic, 1)
    for (long t = tasks - 1; t >= 0; --t) {
      const int qt = static_cast<int>(t % q_tiles);
      const int h = static_cast<int>((t / q_tiles) % a.H);
      const int b = static_cast<int>(t / (static_cast<long>(q_tiles) * a.H));
      const int valid_q = a.lens ? a.lens[b] : a.Nq;
      const int valid_k = a.lens ? a.lens[b] : a.Nk;
      const int q0 = qt * kTileQ;
      const int tile_rows = std::min(kTileQ, a.Nq - q0);
      const int rows = std::max(0, std::min(tile_rows, valid_q - q0));
      const int rows_pad = round_up(std::max(rows, 1), R);
      const float* q = a.q + ((static_cast<long>(b) * a.H + h) * a.Nq + q0) * D;
      float* out = a.o + ((static_cast<long>(b) * a.H + h) * a.Nq + q0) * D;
      std::memset(out + static_cast<long>(rows) * D, 0, sizeof(float) * (tile_rows - rows) * D);
      if (rows == 0) continue;

      const long kvhead = static_cast<long>(b) * a.Hkv + h / group;
      const float* kt_head = packed.kt.data() + kvhead * packed.kt_head_stride();
      const float* v_head = packed.v.data() + kvhead * packed.v_head_stride();
      float* qs = ws.qs.data();
      for (int r = 0; r < rows_pad; ++r)
        for (int d = 0; d < D; ++d) qs[r * D + d] = r < rows ? q[r * D + d] * qscale : 0.0f;
      std::fill(ws.o.data(), ws.o.data() + static_cast<std::size_t>(rows_pad) * Dp, 0.0f);
      std::fill(ws.m.data(), ws.m.data() + kTileQ, neg_inf);
      std::fill(ws.l.data(), ws.l.data() + kTileQ, 0.0f);

      const int lh = a.plan.layout_heads == 1 ? 0 : h;
      const std::size_t slot = static_cast<std::size_t>(lh) * a.plan.q_tiles + qt;
      for (uint32_t e = a.plan.begin[slot]; e < a.plan.begin[slot + 1]; ++e) {
        const TileRef ref = a.plan.refs[e];
        const int k0 = ref.k_tile * kTileK;
        if (k0 >= valid_k || ref.kind == TileKind::empty) continue;
        const int kn = std::min(kTileK, valid_k - k0);
        const bool partial = ref.kind == TileKind::partial || kn < kTileK;
        const float* kt = kt_head + static_cast<std::size_t>(ref.k_tile) * kTileK * D;
        float* s = ws.s.data();
        for (int r = 0; r < rows_pad; r += R)
          for (int c = 0; c < kTileK; c += C * W)
            qk_block<V, R, C>(qs + r * D, D, kt + c, s + r * kTileK + c);
        for (int r = 0; r < rows; ++r) {
          float* srow = s + r * kTileK;
          if (partial) {
            uint8_t* vis = ws.visible.data();
            if (ref.kind == TileKind::partial)
              a.mask->mark_row(h, q0 + r, k0, kn, vis);
            else
              std::fill(vis, vis + kn, uint8_t{1});
            for (int j = 0; j < kTileK; ++j)
              if (j >= kn || !vis[j]) srow[j] = neg_inf;
          }
          softmax_row<V>(srow, ws.m[r], ws.l[r], ws.alpha[r]);
        }
        for (int r = rows; r < rows_pad; ++r) {  // padding rows: keep them inert
          std::memset(s + r * kTileK, 0, sizeof(float) * kTileK);
          ws.alpha[r] = 0.0f;
        }
        const float* vt = v_head + static_cast<std::size_t>(k0) * Dp;
        for (int r = 0; r < rows_pad; r += R)
          pv_rows<V, R, C>(s + r * kTileK, kn, vt, Dp, ws.o.data() + static_cast<std::size_t>(r) * Dp,
                           ws.alpha.data() + r);
      }
      for (int r = 0; r < rows; ++r) {
        const float l = ws.l[r];
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // a row that saw no key gives zeros
        const float* src = ws.o.data() + static_cast<std::size_t>(r) * Dp;
        for (int d = 0; d < D; ++d) out[static_cast<long>(r) * D + d] = src[d] * inv;
      }
    }
  }
}

// Extra memory the engine allocates for a call: packed K and V plus per-thread tile scratch.
inline std::size_t masked_attention_workspace(const MaskedAttentionArgs& a, int W) {
  const std::size_t k_tiles = (a.Nk + kTileK - 1) / kTileK;
  const std::size_t Dp = round_up(a.D, W);
  const std::size_t packed = static_cast<std::size_t>(a.B) * a.Hkv * k_tiles * kTileK * (a.D + Dp);
  const std::size_t per_thread = static_cast<std::size_t>(kTileQ) * (a.D + kTileK + Dp + 3) + kTileK / 4;
  return sizeof(float) * (packed + per_thread * omp_get_max_threads());
}

}  // namespace attn::kernels
