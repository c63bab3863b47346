// The tiled online-softmax attention engine, written once against simd::Vec<Arch>.
// dense, causal, window, block-sparse and every mask-defined variant run through it: they differ
// only in the block plan (which key tiles each query tile visits) and the element mask.
//
// Per query tile (64 rows) it keeps the output accumulator, the running max and the running sum
// in a small per-thread scratch; scores never exceed R x 64 per step, so extra memory is
// O(tile) per thread plus one packed copy of K (and V). All of it is one buffer the caller's
// plan allocates (masked_attention_workspace); the engine allocates nothing.
//
// Loop order, for speed: query tile -> key tile -> block of R query rows -> (Q.K^T for R rows,
// softmax of those R rows, P.V for those R rows). The key and value tiles (16 KiB each at D = 64)
// stay in L1 for all row blocks; the R x 64 score block never leaves L1 either.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "masked_attention_args.hpp"
#include "simd.hpp"

namespace attn::kernels {

// Fully unrolls the register-block loops so the accumulator arrays live in registers only.
#define ATTN_UNROLL _Pragma("GCC unroll 16")

// Register blocking: R query rows per step, CQ key vectors per Q.K^T micro-kernel, CV head-dim
// vectors per P.V micro-kernel. AVX-512 (32 registers): 6 x 4 accumulators + 4 loaded vectors.
// AVX2 (16 registers): 6 x 2 + 2 + 1 broadcast. SSE2 has no FMA (needs a temporary): 4 x 2.
template <class V>
struct Blocking {
  static constexpr int W = static_cast<int>(V::size);
  static constexpr int R = W >= 8 ? 6 : 4;
  static constexpr int CQ = W >= 16 ? 4 : 2;
  static constexpr int CV = W >= 16 ? 4 : 2;
  static constexpr int G = 3;  // row blocks per group (see row_group)
};

inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

// K packed per key tile as [D][kTileK] (keys contiguous, so a vector holds W keys of one dim).
// V is read in place when D is a whole number of vectors (P.V never reads keys past the valid
// count, see key_span); otherwise packed as [Nk rounded up to a tile][Dp], Dp = D rounded up
// to the vector width. Both live in the plan's workspace.
struct PackedKV {
  float* kt = nullptr;
  float* v = nullptr;             // packed V, or null when read in place
  const float* v_base = nullptr;  // the caller's V or v
  int k_tiles = 0;
  int D = 0;
  int Dp = 0;
  int v_rows = 0;  // rows per head in v_base
  std::size_t kt_head_stride() const { return static_cast<std::size_t>(k_tiles) * kTileK * D; }
  std::size_t v_head_stride() const { return static_cast<std::size_t>(v_rows) * Dp; }
};

inline bool v_in_place(int D, int W) { return D % W == 0; }

// Transposes one key tile, scaled by kscale (keys past Nk become zeros: Q.K^T reads whole
// vectors, and a NaN there would survive the -inf mask) and, if V is packed, copies its value rows.
// Transposes kn <= kTileK key rows (row stride D) into dst [D][kTileK], scaled by kscale; keys
// past kn become zeros (Q.K^T reads whole vectors, and a NaN there would survive the -inf
// mask). W keys x W dims at a time, transposed in registers (a scalar copy is bound by one store
// per element); the dims past the last whole vector one element at a time.
template <class V>
inline void pack_key_tile(const float* src, int kn, int D, float kscale, float* dst) {
  constexpr int W = static_cast<int>(V::size);
  const int d_vec = D / W * W;
  for (int jb = 0; jb < kTileK; jb += W)
    for (int d0 = 0; d0 < d_vec; d0 += W) {
      V x[W];
      ATTN_UNROLL for (int i = 0; i < W; ++i)
        x[i] = jb + i < kn ? V::load_unaligned(src + static_cast<long>(jb + i) * D + d0) * V(kscale) : V(0.0f);
      simd::transpose_square(x);
      ATTN_UNROLL for (int i = 0; i < W; ++i) x[i].store_aligned(dst + static_cast<std::size_t>(d0 + i) * kTileK + jb);
    }
  for (int d = d_vec; d < D; ++d) {
    float* row = dst + static_cast<std::size_t>(d) * kTileK;
    for (int j = 0; j < kn; ++j) row[j] = src[static_cast<long>(j) * D + d] * kscale;
    for (int j = kn; j < kTileK; ++j) row[j] = 0.0f;
  }
}

// Copies kn <= kTileK value rows (stride D) into dst [kTileK][Dp], zero-padded.
inline void pack_value_tile(const float* src, int kn, int D, int Dp, float* dst) {
  for (int j = 0; j < kTileK; ++j) {
    float* row = dst + static_cast<std::size_t>(j) * Dp;
    if (j < kn)
      std::memcpy(row, src + static_cast<long>(j) * D, sizeof(float) * D);
    else
      std::memset(row, 0, sizeof(float) * D);
    std::memset(row + D, 0, sizeof(float) * (Dp - D));
  }
}

// Key tile kt of kv head `head` into the packed K (and V, if packed) of p.
template <class V>
inline void pack_tile(const Problem& P, const Tensors& in, long head, int kt, bool pack_v, float kscale, PackedKV& p) {
  const int D = P.D;
  const long k0 = static_cast<long>(kt) * kTileK;
  const int kn = static_cast<int>(std::min<long>(kTileK, P.Nk - k0));
  const std::size_t src = (head * P.Nk + k0) * D;
  pack_key_tile<V>(in.k + src, kn, D, kscale, p.kt + head * p.kt_head_stride() + static_cast<std::size_t>(kt) * kTileK * D);
  if (pack_v)
    pack_value_tile(in.v + src, kn, D, p.Dp, p.v + head * p.v_head_stride() + static_cast<std::size_t>(kt) * kTileK * p.Dp);
}

// Packs K (and V unless read in place) into p, whose buffers point into the plan's workspace.
template <class V>
inline void pack_kv(const Problem& P, const Tensors& in, float kscale, int threads, PackedKV& p) {
  const long heads = static_cast<long>(P.B) * P.Hkv;
  const bool pack_v = p.v != nullptr;
  p.v_base = pack_v ? p.v : in.v;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (long t = 0; t < heads * p.k_tiles; ++t) pack_tile<V>(P, in, t / p.k_tiles, static_cast<int>(t % p.k_tiles), pack_v, kscale, p);
}

// acc[r][C vectors] = sum_d A[r][d] * Bt[d][C vectors] for R rows of A (row stride D) and a
// transposed tile Bt (row stride kTileK): the register-blocked product under Q.K^T here and
// dO.V^T in flash_backward.hpp.
template <class V, int R, int C>
[[gnu::always_inline]] inline void rows_times_tile(const float* a, int D, const float* bt, V (&acc)[R][C]) {
  constexpr int W = static_cast<int>(V::size);
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = V(0.0f);
  for (int d = 0; d < D; ++d) {
    V bv[C];
    ATTN_UNROLL for (int c = 0; c < C; ++c) bv[c] = V::load_aligned(bt + static_cast<std::size_t>(d) * kTileK + c * W);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const V ab(a[r * D + d]);
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = simd::vfma(ab, bv[c], acc[r][c]);
    }
  }
}

// S[r][C vectors] = sum_d Q[r][d] * Kt[d][C vectors] for R rows (row stride kTileK in S).
template <class V, int R, int C>
[[gnu::noinline]] void qk_block(const float* q, int D, const float* kt, float* s) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  rows_times_tile<V, R, C>(q, D, kt, acc);
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c].store_aligned(s + r * kTileK + c * W);
}

// O[r][C vectors] = alpha[r] * O[r] + sum_{jb <= j < je} P[r][j] * V[j][C vectors] for R rows.
// alpha holds one broadcast vector per row, or is null when no row needs rescaling.
// V rows may be the caller's tensor: unaligned loads.
template <class V, int R, int C>
[[gnu::noinline]] void pv_block(const float* p, int jb, int je, const float* vp, int Dp, float* o, const float* alpha) {
  constexpr int W = static_cast<int>(V::size);
  V acc[R][C];
  if (alpha) {
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const V ar = V::load_aligned(alpha + r * W);
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = V::load_aligned(o + r * Dp + c * W) * ar;
    }
  } else {
    ATTN_UNROLL for (int r = 0; r < R; ++r)
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = V::load_aligned(o + r * Dp + c * W);
  }
  for (int j = jb; j < je; ++j) {
    V vv[C];
    ATTN_UNROLL for (int c = 0; c < C; ++c) vv[c] = V::load_unaligned(vp + static_cast<std::size_t>(j) * Dp + c * W);
    ATTN_UNROLL for (int r = 0; r < R; ++r) {
      const V pb(p[r * kTileK + j]);
      ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c] = simd::vfma(pb, vv[c], acc[r][c]);
    }
  }
  ATTN_UNROLL for (int r = 0; r < R; ++r)
    ATTN_UNROLL for (int c = 0; c < C; ++c) acc[r][c].store_aligned(o + r * Dp + c * W);
}

// P.V over all head-dim vectors: blocks of C vectors, then the remainder with fewer.
template <class V, int R, int C>
inline void pv_rows(const float* p, int jb, int je, const float* vp, int Dp, float* o, const float* alpha) {
  constexpr int W = static_cast<int>(V::size);
  const int nvec = Dp / W;
  int c0 = 0;
  for (; c0 + C <= nvec; c0 += C) pv_block<V, R, C>(p, jb, je, vp + c0 * W, Dp, o + c0 * W, alpha);
  if constexpr (C >= 4) {
    if (c0 + 2 <= nvec) {
      pv_block<V, R, 2>(p, jb, je, vp + c0 * W, Dp, o + c0 * W, alpha);
      c0 += 2;
    }
  }
  for (; c0 < nvec; ++c0) pv_block<V, R, 1>(p, jb, je, vp + c0 * W, Dp, o + c0 * W, alpha);
}

// Q.K^T for key columns [cb, ce) (whole vectors): blocks of C vectors, then the rest with fewer,
// so keys a band masks for the whole row block cost nothing.
template <class V, int R, int C>
inline void qk_cols(const float* q, int D, const float* kt, int cb, int ce, float* s) {
  constexpr int W = static_cast<int>(V::size);
  int c = cb;
  for (; c + C * W <= ce; c += C * W) qk_block<V, R, C>(q, D, kt + c, s + c);
  if constexpr (C >= 4) {
    if (c + 2 * W <= ce) {
      qk_block<V, R, 2>(q, D, kt + c, s + c);
      c += 2 * W;
    }
  }
  for (; c < ce; c += W) qk_block<V, R, 1>(q, D, kt + c, s + c);
}

// Additive masks, 0 where a key is visible and -inf where not, for the rows of one key tile.
// An interval row [lo, hi) is two shifted windows into constant ramps (no per-element work):
// ramp_lo[kTileK - lo + j] is 0 iff j >= lo and ramp_hi[kTileK - hi + j] is -inf iff j >= hi.
struct MaskRamps {
  alignas(64) float lo[2 * kTileK];
  alignas(64) float hi[2 * kTileK];
  MaskRamps() {
    constexpr float neg_inf = -std::numeric_limits<float>::infinity();
    for (int t = 0; t < 2 * kTileK; ++t) {
      lo[t] = t < kTileK ? neg_inf : 0.0f;
      hi[t] = t < kTileK ? 0.0f : neg_inf;
    }
  }
};
inline const MaskRamps& mask_ramps() {
  static const MaskRamps ramps;
  return ramps;
}

// Plain data, placed in the workspace (one per thread).
struct RowMasks {
  alignas(64) float bias[kTileQ * kTileK];  // only for rows with holes
  int lo[kTileQ], hi[kTileQ];   // visible keys [lo, hi) of each row, relative to the tile
  bool interval[kTileQ];        // true: lo/hi describe the row; false: use the bias row
  long band_lo[kTileQ], band_hi[kTileQ];  // the query tile's row bands (absolute), for band tiles
  uint8_t visible[kTileK];

  // The two additive rows for row r (second may be null).
  const float* first(int r) const { return interval[r] ? mask_ramps().lo + kTileK - lo[r] : bias + r * kTileK; }
  const float* second(int r) const { return interval[r] ? mask_ramps().hi + kTileK - hi[r] : nullptr; }
};

// Fills the row masks of one masked key tile: rows [0, rows) of the query tile starting at q0,
// keys [k0, k0 + kn). Full tiles cut only by the key count (or a length) and band tiles get one
// interval per row, clipped from the row bands (rm.band_lo/hi, filled once per query tile);
// only partial tiles (holes) mark elements.
// row_id(r) gives the (head, query row) of tile row r: consecutive rows of one head in the
// prefill engine, the rows of every head of a GQA group in the decode engine.
template <class RowId>
inline void build_row_masks(const ElementMask& mask, const RowId& row_id, int rows, int k0, int kn, TileKind kind,
                            RowMasks& rm) {
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  for (int r = 0; r < rows; ++r) {
    if (kind == TileKind::full) {
      rm.interval[r] = true, rm.lo[r] = 0, rm.hi[r] = kn;
      continue;
    }
    if (kind == TileKind::band) {
      const int lo = static_cast<int>(std::clamp<long>(rm.band_lo[r] - k0, 0, kn));
      const int hi = static_cast<int>(std::clamp<long>(rm.band_hi[r] - k0, 0, kn));
      rm.interval[r] = true, rm.lo[r] = lo, rm.hi[r] = std::max(lo, hi);
      continue;
    }
    rm.interval[r] = false;
    uint8_t* vis = rm.visible;
    const auto [h, i] = row_id(r);
    mask.mark_row(h, i, k0, kn, vis);
    float* b = rm.bias + r * kTileK;
    int first = kn, last = -1;
    for (int j = 0; j < kTileK; ++j) {
      const bool on = j < kn && vis[j];
      b[j] = on ? 0.0f : neg_inf;
      if (on) first = std::min(first, j), last = j;
    }
    rm.lo[r] = first, rm.hi[r] = last + 1;  // bounds for skipping, the bias does the masking
  }
}

// Softcap in the engine's log2 domain: x -> cap tanh(x / cap) with cap = log2(e) C (0: off), the
// same as C tanh(s / C) on natural-log scores s = x ln 2.
struct SoftcapLog2 {
  float cap = 0.0f, inv = 0.0f;
  static SoftcapLog2 of(float C) {
    const float cap = 1.4426950408889634f * C;
    return C > 0.0f ? SoftcapLog2{cap, 1.0f / cap} : SoftcapLog2{};
  }
  bool on() const { return cap > 0.0f; }
  // Softcapped scores lie in [-cap, cap] (to the tanh's 2e-6 relative error). Without ALiBi
  // (whose bias is unbounded) and with 2 cap below float32's normal exponent range (C <= 41.5),
  // the softmax can take cap as every row's max: exp2(s - cap) >= 2^-120 stays a normal float
  // (above simd::vexp2_softmax's cut at 2^-125), so no probability loses precision, and no
  // running max, tile max or rescale is needed.
  static constexpr float kMaxFixedRange = 120.0f;
  bool bounds_softmax(bool alibi) const { return on() && !alibi && 2.0f * cap <= kMaxFixedRange; }
};

// One thread's scratch for one query tile, carved out of the plan's workspace.
template <class V>
struct TileScratch {
  float* o;      // kTileQ x Dp output accumulator
  float* m;      // kTileQ x W running max, broadcast per row
  float* l;      // kTileQ x W running sum, lane-wise per row
  float* alpha;  // kTileQ x W rescale factors
  float* p;      // G x R x kTileK scores / probabilities of one row group
  RowMasks* masks;
  bool round_p;  // P rounded to bf16 before P.V (MaskedAttentionArgs::round_p_bf16)
  // Score modifiers, when any (set per task and key tile by set_mod_rows / the tile loop).
  bool mods = false, has_sinks = false;
  SoftcapLog2 softcap;                  // off unless the call has softcap
  bool capped_max = false;              // softcap's cap is every row's max (bounds_softmax)
  float slope[kTileQ], pos[kTileQ];     // per row: log2(e) slope of its head, its position
  float sink[kTileQ];                   // per row: log2(e) sink logit of its head (-inf: none)
  long k0 = 0;                          // first key of the tile being processed

  // softmax_row's bound: the cap when it fixes the max, else null.
  const float* score_bound() const { return capped_max ? &softcap.cap : nullptr; }

  // Rows r of the tile are query row_id(r) = (head, i): their modifier context.
  template <class RowId>
  void set_mod_rows(const Problem& P, const ScoreModifiers& m, int rows, const RowId& row_id) {
    mods = m.softcap != 0.0f || m.alibi;
    has_sinks = m.sinks != nullptr;
    softcap = SoftcapLog2::of(m.softcap);
    capped_max = softcap.bounds_softmax(m.alibi != nullptr);
    for (int r = 0; r < rows; ++r) {
      const auto [h, i] = row_id(r);
      slope[r] = m.alibi ? 1.4426950408889634f * m.alibi[h] : 0.0f;
      pos[r] = static_cast<float>(P.position(i));
      sink[r] = m.sinks ? 1.4426950408889634f * m.sinks[h] : -std::numeric_limits<float>::infinity();
    }
  }

  // Bytes of one thread's scratch: the float arrays, then the RowMasks, each 64-byte aligned.
  static std::size_t floats(int Dp) {
    using Blk = Blocking<V>;
    return static_cast<std::size_t>(kTileQ) * (Dp + 3 * Blk::W) + static_cast<std::size_t>(Blk::G) * Blk::R * kTileK;
  }
  static std::size_t align64(std::size_t bytes) { return (bytes + 63) / 64 * 64; }
  static std::size_t bytes(int Dp) { return align64(sizeof(float) * floats(Dp)) + align64(sizeof(RowMasks)); }
  // The scratch laid out in `mem` (bytes(Dp) of it, 64-byte aligned).
  static TileScratch carve(char* mem, int Dp, bool round_p) {
    constexpr int W = Blocking<V>::W;
    float* f = reinterpret_cast<float*>(mem);
    TileScratch ws;
    ws.o = f, f += static_cast<std::size_t>(kTileQ) * Dp;
    ws.m = f, f += kTileQ * W;
    ws.l = f, f += kTileQ * W;
    ws.alpha = f, f += kTileQ * W;
    ws.p = f;
    ws.masks = reinterpret_cast<RowMasks*>(mem + align64(sizeof(float) * floats(Dp)));
    ws.round_p = round_p;
    return ws;
  }
};

// Where everything lives in the workspace: packed K, packed V (if any), packed Q (if any),
// then per thread the tile scratch (and what the products' packing needs). Every region starts
// on a 64-byte boundary. The products type (F32Products, Bf16Products) fills it in.
struct EngineLayout {
  static std::size_t align(std::size_t bytes) { return (bytes + 63) / 64 * 64; }
  int k_tiles = 0, Dp = 0;
  bool pack_v = false;
  std::size_t kt_bytes = 0, v_bytes = 0, q_bytes = 0, thread_bytes = 0;
  std::size_t threads_offset() const { return kt_bytes + v_bytes + q_bytes; }
  std::size_t total(int threads) const { return threads_offset() + thread_bytes * threads; }
};

// What the tile products read, as the products type packed it: query rows (q_row elements
// each), key tiles and value tiles (kt_tile / v_tile elements each, kt_head / v_head per kv
// head), the P.V width Dp (a whole number of vectors) and the factor the scores still need.
template <class QE, class KE, class VE>
struct EngineOperands {
  const QE* q = nullptr;
  std::size_t q_row = 0;
  const KE* kt = nullptr;
  std::size_t kt_tile = 0, kt_head = 0;
  const VE* v = nullptr;
  std::size_t v_tile = 0, v_head = 0;
  int Dp = 0;
  float score_scale = 1.0f;
};

// The float32 products: K packed and pre-scaled (scores need no factor), Q read in place, V in
// place when D is a whole number of vectors. The engine's other products type is
// kernels/native/bf16_products.hpp (AVX512-BF16).
template <class V>
struct F32Products {
  using Vec = V;
  using QElem = float;
  using KElem = float;
  using VElem = float;
  using Operands = EngineOperands<float, float, float>;

  static EngineLayout layout(const Problem& P) {
    constexpr int W = Blocking<V>::W;
    EngineLayout l;
    l.k_tiles = (P.Nk + kTileK - 1) / kTileK;
    l.pack_v = P.D % W != 0;
    l.Dp = l.pack_v ? (P.D + W - 1) / W * W : P.D;
    const std::size_t heads = static_cast<std::size_t>(P.B) * P.Hkv;
    l.kt_bytes = EngineLayout::align(sizeof(float) * heads * l.k_tiles * kTileK * P.D);
    l.v_bytes = l.pack_v ? EngineLayout::align(sizeof(float) * heads * l.k_tiles * kTileK * l.Dp) : 0;
    l.thread_bytes = TileScratch<V>::bytes(l.Dp);
    return l;
  }

  // log2 domain: exp(scale * q.k) = 2^(q . (scale * log2(e) * k)), the factor folded into the
  // packed keys, so Q.K^T reads the queries in place.
  static Operands pack(const Problem& P, const Tensors& in, const EngineLayout& layout, char* base, int threads) {
    PackedKV packed;
    packed.D = P.D, packed.Dp = layout.Dp, packed.k_tiles = layout.k_tiles;
    packed.v_rows = layout.pack_v ? layout.k_tiles * kTileK : P.Nk;
    packed.kt = reinterpret_cast<float*>(base);
    packed.v = layout.pack_v ? reinterpret_cast<float*>(base + layout.kt_bytes) : nullptr;
    pack_kv<V>(P, in, P.effective_scale() * 1.4426950408889634f, threads, packed);
    Operands ops;
    ops.q = in.q, ops.q_row = P.D;
    ops.kt = packed.kt, ops.kt_tile = static_cast<std::size_t>(kTileK) * P.D, ops.kt_head = packed.kt_head_stride();
    ops.v = packed.v_base, ops.v_tile = static_cast<std::size_t>(kTileK) * packed.Dp, ops.v_head = packed.v_head_stride();
    ops.Dp = packed.Dp;
    return ops;
  }

  template <int R>
  static void qk_cols(const float* q, std::size_t q_row, const float* kt, int cb, int ce, float* s, float) {
    using Blk = Blocking<V>;
    constexpr int C = (Blk::CQ * Blk::W > kTileK) ? kTileK / Blk::W : Blk::CQ;
    static_assert(kTileK % (C * Blk::W) == 0, "key tiles must hold whole Q.K^T blocks");
    attn::kernels::qk_cols<V, R, C>(q, static_cast<int>(q_row), kt, cb, ce, s);
  }

  template <int R>
  static void pv_rows(const float* p, int jb, int je, const float* vt, int Dp, float* o, const float* alpha) {
    attn::kernels::pv_rows<V, R, Blocking<V>::CV>(p, jb, je, vt, Dp, o, alpha);
  }
};

// The running max only moves when a tile's max exceeds it by more than this (log2 domain), so
// most tiles need no rescale of the output (FlashAttention-3's trick). Exact: probabilities
// stay below 2^kLazyRescale and the final division uses the same max for O and the sum.
constexpr float kLazyRescale = 8.0f;

// ALiBi of one row in the log2 domain: x += slope (j - p) = offset + slope * (key column within
// the tile).
struct RowMods {
  float slope = 0.0f;  // log2(e) slope_h
  float offset = 0.0f; // log2(e) slope_h (k0 - p)
};

alignas(64) inline constexpr float kLaneIndex[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

template <class V>
inline V apply_mods(V x, int c, const RowMods& mod) {
  constexpr int W = static_cast<int>(V::size);
  return x + V(mod.offset + mod.slope * static_cast<float>(c * W)) + V(mod.slope) * V::load_aligned(kLaneIndex);
}

// The same bias for a whole row: offset + slope * (lane) once, then one FMA per vector of keys.
template <class V>
struct AlibiRow {
  V ramp, step;
  explicit AlibiRow(const RowMods& mod)
      : ramp(simd::vfma(V(mod.slope), V::load_aligned(kLaneIndex), V(mod.offset))),
        step(mod.slope * static_cast<float>(V::size)) {}
  V operator()(V x, int c) const { return x + simd::vfma(V(static_cast<float>(c)), step, ramp); }
};

// Softcap, then ALiBi (SPEC's order, both before the mask), on rows [0, n) of the score block s
// (row stride kTileK), which are the scratch's rows row0 + r of the key tile at ws.k0, over the
// score vectors [cols(r).first, cols(r).second). One pass of its own over independent vectors
// keeps both FMA ports busy; inside softmax_row each row's tanh lengthened the chain its max waits
// on (measured, D = 64: softcap fused there 1.18x dense's CPU time, 1.11x in a pass). Softcap's
// formula is chosen per row of the tile: the polynomial when every score of it lies within the
// cap, else the rational. Per vector, scores near the cap made the choice a coin toss: with
// queries x 16 (C = 30) the branch's mispredictions cost more than the polynomial saved.
// x[] and t[] hold only the vectors [c0, c1); GCC 12 cannot see that the others are never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <class V, class Cols>
inline void modify_scores(const TileScratch<V>& ws, int row0, int n, float* s, const Cols& cols) {
  constexpr int W = static_cast<int>(V::size);
  constexpr int nv = kTileK / W;
  const bool capped = ws.softcap.on();
  const V cap(ws.softcap.cap), inv(ws.softcap.inv), one(1.0f);  // in registers: the stores cannot reload them
  for (int r = 0; r < n; ++r) {
    float* row = s + static_cast<std::size_t>(r) * kTileK;
    const auto [c0, c1] = cols(r);
    V x[nv], t[nv];
    for (int c = 0; c < nv; ++c)
      if (c >= c0 && c < c1) x[c] = V::load_aligned(row + c * W);
    if (capped) {
      bool inside = true;
      for (int c = 0; c < nv; ++c)
        if (c >= c0 && c < c1) {
          const V u = x[c] * inv;
          t[c] = u * u;
          inside &= simd::all_at_most(t[c], one);
        }
      for (int c = 0; c < nv; ++c)
        if (c >= c0 && c < c1) x[c] = inside ? simd::softcap_inside(x[c], t[c]) : simd::softcap_anywhere(x[c], inv, cap);
    }
    const float slope = ws.slope[row0 + r];
    if (slope != 0.0f) {
      const AlibiRow<V> alibi(RowMods{slope, slope * (static_cast<float>(ws.k0) - ws.pos[row0 + r])});
      for (int c = 0; c < nv; ++c)
        if (c >= c0 && c < c1) x[c] = alibi(x[c], c);
    }
    for (int c = 0; c < nv; ++c)
      if (c >= c0 && c < c1) x[c].store_aligned(row + c * W);
  }
}
#pragma GCC diagnostic pop

// Online-softmax update of one row of scores s (log2 domain, kTileK of them) into probabilities.
// m is the running max (broadcast vector), l the lane-wise running sum. Returns whether the max
// moved. alpha receives the factor that rescales the row's earlier output (1 if it did not move).
// add1/add2: optional additive mask rows.
// round_p: the probabilities P.V reads are rounded to bf16 (bf16 and int8 precision), the sum
// keeps the float32 values (the online softmax is float32). The scores come with their softcap
// and ALiBi applied (modify_scores). bound (or null): no score of the row exceeds *bound
// (SoftcapLog2::bounds_softmax), which then serves as the max: the first tile sets it, no later
// one moves it, no tile max is taken.
template <class V>
inline bool softmax_row(float* s, int c0, int c1, const float* add1, const float* add2, float* m, float* l,
                        float* alpha, bool round_p, const float* bound = nullptr) {
  constexpr int W = static_cast<int>(V::size);
  constexpr int n = kTileK / W;
  // Only vectors [c0, c1) hold scores; the others are masked for the whole row block, so they
  // are neither read (they may hold stale values) nor written (P.V does not read them).
  V x[n];
  V mx(-std::numeric_limits<float>::infinity());
  for (int c = 0; c < n; ++c)
    if (c >= c0 && c < c1) {
      x[c] = V::load_aligned(s + c * W);
      if (add1) x[c] = x[c] + V::load_unaligned(add1 + c * W);
      if (add2) x[c] = x[c] + V::load_unaligned(add2 + c * W);
      if (!bound) mx = simd::vmax(mx, x[c]);
    }
  const V tile_max = bound ? V(*bound) : simd::vmax_all(mx);
  const V m_old = V::load_aligned(m);
  // Negated so a NaN score moves the max, as the eager update did.
  const bool grow = !(tile_max.get(0) <= m[0] + kLazyRescale);
  const V m_new = grow ? simd::vmax(m_old, tile_max) : m_old;
  // A row that has seen no key keeps m = -inf; subtracting -FLT_MAX instead turns its masked
  // scores and its alpha into exact zeros rather than NaN.
  const V m_use = simd::vmax(m_new, V(std::numeric_limits<float>::lowest()));
  V sum(0.0f);
  for (int c = 0; c < n; ++c)
    if (c >= c0 && c < c1) {
      const V pe = simd::vexp2_softmax(x[c] - m_use);
      (round_p ? simd::round_bf16(pe) : pe).store_aligned(s + c * W);
      sum = sum + pe;
    }
  if (!grow) {
    (V::load_aligned(l) + sum).store_aligned(l);
    V(1.0f).store_aligned(alpha);  // in case another row of the block rescales
    return false;
  }
  // Earlier output more than 2^64 below the new max weighs nothing next to it (a row has < 2^31
  // keys): alpha = 0 rather than a rescale that could walk it into float32's subnormals, where
  // every FMA on it takes a microcode assist.
  const V a = simd::vexp2_softmax(simd::below_to_neg_inf(m_old - m_use, -64.0f));
  simd::vfma(V::load_aligned(l), a, sum).store_aligned(l);
  m_new.store_aligned(m);
  a.store_aligned(alpha);
  return true;
}

// Keys [jb, je) that rows [r0, r0 + n) may see in this tile (all of it when unmasked).
inline void key_span(const RowMasks* masks, int r0, int n, int& jb, int& je) {
  jb = 0, je = kTileK;
  if (!masks) return;
  jb = kTileK, je = 0;
  for (int r = r0; r < r0 + n; ++r)
    if (masks->lo[r] < masks->hi[r]) jb = std::min(jb, masks->lo[r]), je = std::max(je, masks->hi[r]);
  if (je <= jb) jb = je = 0;
}

// A group of nb blocks of R query rows (tile rows r0 .. r0 + nb R) against one key tile:
// Q.K^T for every block, softmax of every row, then P.V for every block. Grouping lets each
// block reuse the key tile, then the value tile, from L1 when the two do not fit together
// (D = 128: 32 KiB each). Keys masked for a whole block are skipped in both products.
// The row blocking a products type runs: Blocking<Vec>'s register blocks, unless the type names
// its own (kRowBlock rows, kRowGroup blocks per group: AMX products work on 16-row tiles). The
// score scratch holds Blocking's G x R rows, so a products type's blocks must fit in it.
template <class Prod, class = void>
struct RowBlocking {
  static constexpr int R = Blocking<typename Prod::Vec>::R, G = Blocking<typename Prod::Vec>::G;
};
template <class Prod>
struct RowBlocking<Prod, std::void_t<decltype(Prod::kRowBlock)>> {
  static constexpr int R = Prod::kRowBlock, G = Prod::kRowGroup;
  static_assert(R * G <= Blocking<typename Prod::Vec>::R * Blocking<typename Prod::Vec>::G, "scores fit the scratch");
};
// Per-thread state a products type holds while the engine's threads run (AMX: the tile
// configuration, loaded on construction and released on destruction): Prod::ThreadScope, or nothing.
template <class Prod, class = void>
struct ProductsThreadScope {
  struct type {};
};
template <class Prod>
struct ProductsThreadScope<Prod, std::void_t<typename Prod::ThreadScope>> {
  using type = typename Prod::ThreadScope;
};

// An optional last step of a products type on a query tile's output accumulator before the
// normalisation: Prod::finish_rows(v_head, o, rows, Dp) (AMX int8 accumulates P.V in V's integer
// codes and applies the per-channel scale there, once).
template <class Prod, class = void>
struct HasFinishRows : std::false_type {};
template <class Prod>
struct HasFinishRows<Prod, std::void_t<decltype(&Prod::finish_rows)>> : std::true_type {};

template <class Prod, int R>
inline void row_group(int r0, int nb, const typename Prod::QElem* q, const typename Prod::KElem* kt,
                      const typename Prod::VElem* vt, const typename Prod::Operands& ops, const RowMasks* masks,
                      TileScratch<typename Prod::Vec>& ws) {
  using V = typename Prod::Vec;
  constexpr int W = Blocking<V>::W, G = RowBlocking<Prod>::G;
  int jb[G], je[G], cb[G], ce[G];
  for (int b = 0; b < nb; ++b) {
    const int rb = r0 + b * R;
    float* p = ws.p + static_cast<std::size_t>(b) * R * kTileK;
    key_span(masks, rb, R, jb[b], je[b]);
    cb[b] = jb[b] / W * W, ce[b] = round_up(je[b], W);
    // Columns outside [cb, ce) are masked in every row of the block: softmax skips them too.
    Prod::template qk_cols<R>(q + rb * ops.q_row, ops.q_row, kt, cb[b], ce[b], p, ops.score_scale);
  }
  if (ws.mods) modify_scores(ws, r0, nb * R, ws.p, [&](int r) { return std::pair<int, int>(cb[r / R] / W, ce[r / R] / W); });
  bool rescale[G] = {};
  for (int r = 0; r < nb * R; ++r) {
    const int row = r0 + r;
    rescale[r / R] |= softmax_row<V>(ws.p + static_cast<std::size_t>(r) * kTileK, cb[r / R] / W, ce[r / R] / W,
                                     masks ? masks->first(row) : nullptr, masks ? masks->second(row) : nullptr,
                                     ws.m + row * W, ws.l + row * W, ws.alpha + row * W, ws.round_p, ws.score_bound());
  }
  for (int b = 0; b < nb; ++b) {
    const int rb = r0 + b * R;
    Prod::template pv_rows<R>(ws.p + static_cast<std::size_t>(b) * R * kTileK, jb[b], je[b], vt, ops.Dp,
                              ws.o + static_cast<std::size_t>(rb) * ops.Dp, rescale[b] ? ws.alpha + rb * W : nullptr);
  }
}

// Rows [r0, r1) of the tile in groups of G blocks of R rows, the remainder with smaller blocks:
// 6 -> 4 -> 2 -> 1 (a 64-row tile is 10 x 6 + one block of 4, not 3 + 1: a 1-row block runs
// its micro-kernels at a fraction of the speed), 4 -> 2 -> 1 otherwise.
template <class Prod, int R>
inline void row_blocks(int r0, int r1, const typename Prod::QElem* q, const typename Prod::KElem* kt,
                       const typename Prod::VElem* vt, const typename Prod::Operands& ops, const RowMasks* masks,
                       TileScratch<typename Prod::Vec>& ws) {
  constexpr int G = RowBlocking<Prod>::G;
  while (r0 + R <= r1) {
    const int nb = std::min(G, (r1 - r0) / R);
    row_group<Prod, R>(r0, nb, q, kt, vt, ops, masks, ws);
    r0 += nb * R;
  }
  if constexpr (R > 1) row_blocks<Prod, R == 6 ? 4 : R / 2>(r0, r1, q, kt, vt, ops, masks, ws);
}

// The float32 products on float rows of stride D (the decode engine's call).
template <class V, int R>
inline void row_blocks(int r0, int r1, const float* q, const float* kt, const float* vt, int D, int Dp, const RowMasks* masks,
                       TileScratch<V>& ws) {
  typename F32Products<V>::Operands ops;
  ops.q_row = static_cast<std::size_t>(D), ops.Dp = Dp;
  row_blocks<F32Products<V>, R>(r0, r1, q, kt, vt, ops, masks, ws);
}

// out[r] = O[r] / (sum of row r's probabilities), in vectors; a row that saw no key gives zeros.
// lse (optional) receives ln(sum_j e^(scale q.k_j)) = (m + log2 l) ln 2, -inf for a row that saw
// no key (m is the running max in the log2 domain).
template <class V>
inline void normalize_rows(const TileScratch<V>& ws, int rows, int D, int Dp, float* out, float* lse) {
  constexpr int W = static_cast<int>(V::size);
  const int d_vec = D / W * W;
  for (int r = 0; r < rows; ++r) {
    float l = simd::hsum(V::load_aligned(ws.l + r * W)), m = ws.m[r * W];
    // A learned sink joins the denominator, in the row's running-max frame (its own when the
    // row saw no key: then O = 0 and the log-sum-exp is the sink).
    if (ws.has_sinks) {
      if (m == -std::numeric_limits<float>::infinity()) m = ws.sink[r];
      l += std::exp2(ws.sink[r] - m);
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const float* src = ws.o + static_cast<std::size_t>(r) * Dp;
    float* dst = out + static_cast<long>(r) * D;
    for (int d = 0; d < d_vec; d += W) (V::load_aligned(src + d) * V(inv)).store_unaligned(dst + d);
    for (int d = d_vec; d < D; ++d) dst[d] = src[d] * inv;
    if (lse)
      lse[r] = l > 0.0f ? (m + std::log2(l)) * 0.6931471805599453f : -std::numeric_limits<float>::infinity();
  }
}

// The engine over a products type (F32Products<V>, or a native one): Prod packs the operands
// and runs the two tile products; masks, online softmax, scheduling and normalisation are one code.
template <class Prod>
void masked_attention_with(const MaskedAttentionArgs& a) {
  using V = typename Prod::Vec;
  using Blk = Blocking<V>;
  constexpr int W = Blk::W;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  const Problem& P = *a.p;
  const EngineLayout layout = Prod::layout(P);
  char* base = static_cast<char*>(a.workspace);
  const typename Prod::Operands ops = Prod::pack(P, a.in, layout, base, a.threads);
  const int Dp = ops.Dp, D = P.D;
  const int q_tiles = (P.Nq + kTileQ - 1) / kTileQ;
  const int group = P.H / P.Hkv;
  const long tasks = static_cast<long>(P.B) * P.H * q_tiles;

#pragma omp parallel num_threads(a.threads)
  {
    TileScratch<V> ws = TileScratch<V>::carve(base + layout.threads_offset() + layout.thread_bytes * omp_get_thread_num(),
                                              Dp, a.round_p_bf16);
    const typename ProductsThreadScope<Prod>::type products_scope;
    (void)products_scope;
    // Later query tiles see more keys under causal masks: hand them out first.
#pragma omp for schedule(dynamic, 1)
    for (long t = tasks - 1; t >= 0; --t) {
      const int qt = static_cast<int>(t % q_tiles);
      const int h = static_cast<int>((t / q_tiles) % P.H);
      const int b = static_cast<int>(t / (static_cast<long>(q_tiles) * P.H));
      const int valid_q = P.valid_q(b);
      const int valid_k = P.valid_k(b);
      const int q0 = qt * kTileQ;
      const int tile_rows = std::min(kTileQ, P.Nq - q0);
      const int rows = std::max(0, std::min(tile_rows, valid_q - q0));
      const long row0 = (static_cast<long>(b) * P.H + h) * P.Nq + q0;
      const typename Prod::QElem* q = ops.q + row0 * ops.q_row;
      float* out = a.out.o + row0 * D;
      float* lse = a.out.lse ? a.out.lse + row0 : nullptr;
      std::memset(out + static_cast<long>(rows) * D, 0, sizeof(float) * (tile_rows - rows) * D);
      if (lse) std::fill(lse + rows, lse + tile_rows, neg_inf);
      if (rows == 0) continue;

      const long kvhead = static_cast<long>(b) * P.Hkv + h / group;
      const typename Prod::KElem* kt_head = ops.kt + kvhead * ops.kt_head;
      const typename Prod::VElem* v_head = ops.v + kvhead * ops.v_head;
      // Q.K^T reads the queries in place, one row block at a time: start fetching the whole
      // tile now (the copy this replaced streamed it in one pass).
      const char* q_bytes = reinterpret_cast<const char*>(q);
      for (std::size_t i = 0; i < rows * ops.q_row * sizeof(*q); i += 64) __builtin_prefetch(q_bytes + i, 0, 3);
      std::fill(ws.o, ws.o + static_cast<std::size_t>(rows) * Dp, 0.0f);
      std::fill(ws.m, ws.m + static_cast<std::size_t>(rows) * W, neg_inf);
      std::fill(ws.l, ws.l + static_cast<std::size_t>(rows) * W, 0.0f);

      if (a.mods.any()) ws.set_mod_rows(P, a.mods, rows, [&](int r) { return std::pair<int, long>(h, q0 + r); });
      const std::size_t slot = a.plan.slot(b, h, qt);
      bool have_bands = false;
      // ALiBi raises a row's scores towards its later keys (up to the diagonal when causal, to the
      // end when not), so its max lies in the last tiles: visiting them first sets the max once,
      // instead of moving it (and rescaling the row's output) tile after tile.
      const uint32_t first = a.plan.begin[slot], last = a.plan.begin[slot + 1];
      const bool last_first = a.mods.alibi != nullptr;
      for (uint32_t i = first; i < last; ++i) {
        const uint32_t e = last_first ? last - 1 - (i - first) : i;
        const TileRef ref = a.plan.refs[e];
        const int k0 = ref.k_tile * kTileK;
        if (k0 >= valid_k || ref.kind == TileKind::empty) continue;
        const int kn = std::min(kTileK, valid_k - k0);
        const bool masked = ref.kind != TileKind::full || kn < kTileK;
        if (ref.kind == TileKind::band && !have_bands) {
          a.mask->row_bands(q0, rows, ws.masks->band_lo, ws.masks->band_hi);
          have_bands = true;
        }
        if (masked) build_row_masks(*a.mask, [&](int r) { return std::pair<int, long>(h, q0 + r); }, rows, k0, kn, ref.kind, *ws.masks);
        ws.k0 = k0;
        const typename Prod::KElem* kt = kt_head + ref.k_tile * ops.kt_tile;
        const typename Prod::VElem* vt = v_head + ref.k_tile * ops.v_tile;
        row_blocks<Prod, RowBlocking<Prod>::R>(0, rows, q, kt, vt, ops, masked ? ws.masks : nullptr, ws);
      }
      if constexpr (HasFinishRows<Prod>::value) Prod::finish_rows(v_head, ws.o, rows, Dp);
      normalize_rows<V>(ws, rows, D, Dp, out, lse);
    }
  }
}

template <class Arch>
void masked_attention(const MaskedAttentionArgs& a) {
  masked_attention_with<F32Products<simd::Vec<Arch>>>(a);
}

// Bytes of workspace masked_attention needs for this problem on `threads` threads.
template <class Arch>
std::size_t masked_attention_workspace(const Problem& p, int threads) {
  return F32Products<simd::Vec<Arch>>::layout(p).total(threads);
}

}  // namespace attn::kernels
