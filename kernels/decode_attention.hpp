// Decode: a few query rows (Nq <= kDecodeMaxQ) against a long KV cache, where time is the bytes
// of K and V over the memory bandwidth. Built from the flash engine's pieces (row blocks, online
// softmax, masks), with three differences:
//  - K and V are read where they lie, once per GQA group: the query rows of every head that
//    shares a kv head form one task (when every head has the same layout). A task of at most
//    kDecodeFewRows rows (one query of a group of 4 or 8 heads) runs the few-rows tile
//    (kernels/decode_rows.hpp): dot products on the key rows in place, nothing copied. More rows
//    amortise a copy: each key tile is transposed into this thread's L1 scratch just before its
//    Q.K^T, and V is read in place (copied per tile only when D is not a whole number of vectors).
//  - Tasks are (batch, kv head, rows, split): when batch x kv heads is below the thread count the
//    visited key tiles are split across threads, each split keeps its unnormalised output, max
//    and sum, and a merge combines them exactly through their log-sum-exp (flash-decoding).
//  - The workspace is per thread (the tile scratch, and the two copied tiles when a task can
//    have more than kDecodeFewRows rows) plus the split partials: it does not grow with Nk.
// K and V are float32 tensors, or a narrow KV cache (bf16, f16, int8: Tensors::cache) whose
// values are widened to float32 in registers (few rows) or into the L1 tiles (more rows), the
// values the emulated path computes with (int8: code x scale; few rows: P x V codes, the channel
// scales applied once per task), so only the bytes read change. An int8 cache's few-rows Q.K^T
// may instead run vpdpbusd (kernels/native/int8_decode_qk.hpp: the KeyQk policy).
#pragma once
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "decode_rows.hpp"
#include "kv_load.hpp"
#include "masked_attention.hpp"

namespace attn::kernels {

// How a decode problem is cut into tasks, and where everything lives in the workspace.
struct DecodeLayout {
  int group;        // query heads per kv head
  int rows_shared;  // rows of a task when the heads of a group share it: group x Nq
  int chunks;       // tasks per (batch, kv head) before splitting: covers both sharing cases
  int splits;       // key-range splits per task
  int k_tiles;      // key tiles per head
  int Dp;
  bool pack_v;
  std::size_t thread_bytes, partial_bytes, partial_floats_per_row;
  std::size_t kt_floats, vt_floats;  // per thread: the transposed key tile, the packed value tile
  std::size_t q_bytes = 0;           // Q quantised per call by the Q.K^T policy (VNNI), after the partials
  std::size_t tile_scratch_bytes = 0;  // per thread: TileScratch, then the policies' scratch
  template <class V, class KeyQk = WidenedKeyQk, class ValuePv = WidenedValuePv>
  static DecodeLayout of(const Problem& P, int threads) {
    DecodeLayout l;
    l.init(P, threads, Blocking<V>::W);
    l.tile_scratch_bytes = TileScratch<V>::bytes(l.Dp);
    l.thread_bytes += l.tile_scratch_bytes + EngineLayout::align(KeyQk::thread_bytes(P)) +
                      EngineLayout::align(ValuePv::thread_bytes(P));
    l.q_bytes = EngineLayout::align(KeyQk::workspace_bytes(P));
    return l;
  }
  // Everything but the tile scratch, whose size depends on the arch's blocking.
  void init(const Problem& P, int threads, int W) {
    group = P.H / P.Hkv;
    rows_shared = group * P.Nq;
    // Shared: ceil(group Nq / kTileQ) row chunks; per head: one chunk per head (Nq <= kTileQ).
    chunks = std::max((rows_shared + kTileQ - 1) / kTileQ, group);
    const long base = static_cast<long>(P.B) * P.Hkv;
    k_tiles = (P.Nk + kTileK - 1) / kTileK;
    // Enough splits that every thread has work twice over, none shorter than a few tiles.
    splits = base >= threads ? 1 : static_cast<int>(std::clamp<long>((2L * threads + base - 1) / base, 1, std::max(1L, static_cast<long>(k_tiles) / 4)));
    pack_v = P.D % W != 0 || reads_kv_cache(P);  // a narrow V is widened into the tile
    Dp = (P.D + W - 1) / W * W;
    // Tasks never have more rows than a whole group: then every one runs the few-rows tile,
    // which copies nothing (per-head layouts give tasks of Nq <= rows_shared rows).
    const bool tile_scratch = rows_shared > kDecodeFewRows;
    const std::size_t kt_floats = tile_scratch ? static_cast<std::size_t>(P.D) * kTileK : 0;
    const std::size_t vt_floats = tile_scratch && pack_v ? static_cast<std::size_t>(kTileK) * Dp : 0;
    thread_bytes = EngineLayout::align(sizeof(float) * kt_floats) + EngineLayout::align(sizeof(float) * vt_floats);
    this->kt_floats = kt_floats, this->vt_floats = vt_floats;
    partial_floats_per_row = static_cast<std::size_t>(Dp) + 2;  // o, then m and l
    partial_bytes = splits > 1 ? EngineLayout::align(sizeof(float) * base * chunks * splits * kTileQ *
                                                     partial_floats_per_row)
                               : 0;
  }
  std::size_t total(int threads) const { return thread_bytes * threads + partial_bytes + q_bytes; }
};

template <class Arch, class KeyQk = WidenedKeyQk, class ValuePv = WidenedValuePv>
std::size_t decode_attention_workspace(const Problem& p, int threads) {
  return DecodeLayout::of<simd::Vec<Arch>, KeyQk, ValuePv>(p, threads).total(threads);
}

// Widens one key tile of a narrow cache, held transposed (kernels/kv_cache.hpp) into D x kTileK,
// into dst: each value times `scale` (int8: the tile's scale, else 1) then times kscale, the
// emulated path's two roundings. No transpose: the cache is laid out as Q.K^T reads it.
template <class V, class T>
inline void widen_key_tile(const T* src, int D, float scale, float kscale, float* dst) {
  constexpr int W = static_cast<int>(V::size);
  constexpr bool scaled = std::is_same<T, int8_t>::value;
  const V s(scale), ks(kscale);
  for (int d4 = 0; 4 * d4 < D; ++d4)
    simd::for_each_dim_of_quad(d4, D, [&](auto e) {
      constexpr int E = decltype(e)::value;
      float* row = dst + static_cast<std::size_t>(4 * d4 + E) * kTileK;
      for (int j = 0; j < kTileK; j += W) {
        V x = simd::widen_key<V, E>(src, d4, j);
        if (scaled) x = x * s;
        (x * ks).store_aligned(row + j);
      }
    });
}

// Widens kn <= kTileK narrow value rows (stride D) into dst [kTileK][Dp], zero-padded; int8
// values times their channel's scale (channel_scale[d]), as the emulated V holds them.
template <class V, class T>
inline void widen_value_tile(const T* src, int kn, int D, int Dp, const float* channel_scale, float* dst) {
  constexpr int W = static_cast<int>(V::size);
  constexpr bool scaled = std::is_same<T, int8_t>::value;
  const int d_vec = D / W * W;
  for (int j = 0; j < kn; ++j) {
    const T* s = src + static_cast<long>(j) * D;
    float* row = dst + static_cast<std::size_t>(j) * Dp;
    for (int d = 0; d < d_vec; d += W) {
      V x = simd::widen<V>(s + d);
      if (scaled) x = x * V::load_unaligned(channel_scale + d);
      x.store_aligned(row + d);
    }
    for (int d = d_vec; d < D; ++d) row[d] = scaled ? simd::widen_one(s[d]) * channel_scale[d] : simd::widen_one(s[d]);
    for (int d = D; d < Dp; ++d) row[d] = 0.0f;
  }
  for (int j = kn; j < kTileK; ++j) std::fill(dst + static_cast<std::size_t>(j) * Dp, dst + static_cast<std::size_t>(j + 1) * Dp, 0.0f);
}

// The rows of one task: `n` consecutive rows of Q (and O) from `first`, row r being query row
// i0 + (r % nq) of head h0 + r / nq.
struct DecodeRows {
  int h0, i0, nq, n;
  std::pair<int, long> id(int r) const { return {h0 + r / nq, i0 + r % nq}; }
};

// K and V elements of type T (float, or a narrow cache's Bf16Bits, F16Bits, int8_t). A narrow
// cache's few-rows Q.K^T runs KeyQk (decode_rows.hpp's WidenedKeyQk, or a native one that
// quantises Q itself: then every task must have few rows, as its entry's supports() ensures),
// its P.V ValuePv (WidenedValuePv, or AMX: kernels/native/amx_decode.hpp). A policy's
// ThreadScope (AMX: the tile configuration) lives as long as the thread's share of the work.
template <class Arch, class T, class KeyQk = WidenedKeyQk, class ValuePv = WidenedValuePv>
void decode_attention_from(const MaskedAttentionArgs& a, const T* k_all, const T* v_all, const KvCache* cache) {
  using V = simd::Vec<Arch>;
  constexpr bool narrow = !std::is_same<T, float>::value;
  using Blk = Blocking<V>;
  constexpr int W = Blk::W;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  const Problem& P = *a.p;
  const DecodeLayout L = DecodeLayout::of<V, KeyQk, ValuePv>(P, a.threads);
  const int D = P.D, Dp = L.Dp;
  // Every head of a group follows one tile list only when the layout is shared by all heads.
  const bool shared = a.plan.layout_heads == 1;
  const int tasks_per_kv = shared ? (L.rows_shared + kTileQ - 1) / kTileQ : L.group;
  const long base_tasks = static_cast<long>(P.B) * P.Hkv * tasks_per_kv;
  const long tasks = base_tasks * L.splits;
  const float kscale = P.effective_scale() * 1.4426950408889634f;  // log2 domain, as the engine
  char* ws_base = static_cast<char*>(a.workspace);
  float* partials = reinterpret_cast<float*>(ws_base + L.thread_bytes * a.threads);
  char* q_quantised = ws_base + L.thread_bytes * a.threads + L.partial_bytes;
  const std::size_t partial_task = static_cast<std::size_t>(kTileQ) * L.partial_floats_per_row;
  const long k_tile_elems = narrow ? kv_cache_k_tile_elems(P.dtype, D) : 0;  // a narrow cache's key tile

  // The rows of base task t: batch b, kv head kvh, chunk c.
  auto task_rows = [&](long t, int& b, int& kvh) {
    const int c = static_cast<int>(t % tasks_per_kv);
    kvh = static_cast<int>((t / tasks_per_kv) % P.Hkv);
    b = static_cast<int>(t / (static_cast<long>(tasks_per_kv) * P.Hkv));
    if (!shared) return DecodeRows{kvh * L.group + c, 0, P.Nq, P.Nq};
    const int r0 = c * kTileQ;
    return DecodeRows{kvh * L.group + r0 / P.Nq, r0 % P.Nq, P.Nq, std::min(kTileQ, L.rows_shared - r0)};
  };
  // First element of (batch b, head h, row i) in Q or O.
  auto row_offset = [&](int b, int h, long i) { return ((static_cast<long>(b) * P.H + h) * P.Nq + i) * D; };

#pragma omp parallel num_threads(a.threads)
  {
    char* mine = ws_base + L.thread_bytes * omp_get_thread_num();
    // The transposed key tile and the packed value tile (absent when every task has few rows).
    float* kt = reinterpret_cast<float*>(mine);
    mine += EngineLayout::align(sizeof(float) * L.kt_floats);
    float* vt_packed = reinterpret_cast<float*>(mine);
    mine += EngineLayout::align(sizeof(float) * L.vt_floats);
    TileScratch<V> ws = TileScratch<V>::carve(mine, Dp, a.round_p_bf16);
    char* key_qk_ws = mine + L.tile_scratch_bytes;
    char* value_pv_ws = key_qk_ws + EngineLayout::align(KeyQk::thread_bytes(P));
    const typename ProductsThreadScope<KeyQk>::type key_qk_scope;
    const typename ProductsThreadScope<ValuePv>::type value_pv_scope;
    (void)key_qk_scope, (void)value_pv_scope;
    const ValuePv value_pv = ValuePv::for_thread(P, value_pv_ws);
    if constexpr (KeyQk::kQuantisedQ) {  // per call, before any task reads it (the barrier)
#pragma omp for schedule(static)
      for (long head = 0; head < static_cast<long>(P.B) * P.H; ++head) KeyQk::quantise_head(P, a.in.q, head, q_quantised);
    }

#pragma omp for schedule(dynamic, 1)
    for (long task = 0; task < tasks; ++task) {
      const int split = static_cast<int>(task % L.splits);
      const long bt = task / L.splits;
      int b, kvh;
      const DecodeRows rows = task_rows(bt, b, kvh);
      const int valid_k = P.valid_k(b);
      const float* q = a.in.q + row_offset(b, rows.h0, rows.i0);
      const long kv = (static_cast<long>(b) * P.Hkv + kvh) * P.Nk * D;
      std::fill(ws.o, ws.o + static_cast<std::size_t>(rows.n) * Dp, 0.0f);
      std::fill(ws.m, ws.m + static_cast<std::size_t>(rows.n) * W, neg_inf);
      std::fill(ws.l, ws.l + static_cast<std::size_t>(rows.n) * W, 0.0f);

      if (a.mods.any()) ws.set_mod_rows(P, a.mods, rows.n, [&](int r) { return rows.id(r); });
      // This split's share of the task's tile list (the plan has one query tile: Nq <= kTileQ).
      const std::size_t slot = a.plan.slot(b, rows.h0, 0);
      const uint32_t first = a.plan.begin[slot], count = a.plan.begin[slot + 1] - first;
      const uint32_t e0 = first + static_cast<uint32_t>(static_cast<uint64_t>(count) * split / L.splits);
      const uint32_t e1 = first + static_cast<uint32_t>(static_cast<uint64_t>(count) * (split + 1) / L.splits);
      bool have_bands = false;
      const bool few = rows.n <= kDecodeFewRows;
      if constexpr (KeyQk::kQuantisedQ)
        if (!few) throw std::logic_error("decode_attention: a native Q.K^T policy got a task of many rows");
      const KeyQk key_qk = KeyQk::for_rows(P, q_quantised, (static_cast<long>(b) * P.H + rows.h0) * P.Nq + rows.i0,
                                           rows.n, q, key_qk_ws);
      // int8 V in the few-rows tile: P x codes, the channel scales applied when the task ends.
      const float* v_channel_scale =
          std::is_same<T, int8_t>::value && few ? cache->v_scale + (static_cast<long>(b) * P.Hkv + kvh) * D : nullptr;
      for (uint32_t e = e0; e < e1; ++e) {
        const TileRef ref = a.plan.refs[e];
        const int k0 = ref.k_tile * kTileK;
        if (k0 >= valid_k || ref.kind == TileKind::empty) continue;
        const int kn = std::min(kTileK, valid_k - k0);
        const bool masked = ref.kind != TileKind::full || kn < kTileK;
        if (ref.kind == TileKind::band && !have_bands) {
          // Bands depend on the query row only: ask for the Nq rows once, give each head its copy.
          long lo[kDecodeMaxQ], hi[kDecodeMaxQ];
          a.mask->row_bands(0, P.Nq, lo, hi);
          for (int r = 0; r < rows.n; ++r) {
            const long i = rows.id(r).second;
            ws.masks->band_lo[r] = lo[i], ws.masks->band_hi[r] = hi[i];
          }
          have_bands = true;
        }
        if (masked) build_row_masks(*a.mask, [&](int r) { return rows.id(r); }, rows.n, k0, kn, ref.kind, *ws.masks);
        ws.k0 = k0;
        // A narrow cache holds K per tile, transposed (kernels/kv_cache.hpp); float32 K is [Nk][D].
        const long head = static_cast<long>(b) * P.Hkv + kvh;
        const T* k_tile = narrow ? k_all + (head * L.k_tiles + ref.k_tile) * k_tile_elems : k_all + kv + static_cast<long>(k0) * D;
        const T* v_tile = v_all + kv + static_cast<long>(k0) * D;
        const float* vt = vt_packed;
        if (few) {
          const bool int8 = std::is_same<T, int8_t>::value;
          FewRowsTile<T> ft{k_tile, v_tile, kn, kscale * (int8 ? cache->k_scale[head * L.k_tiles + ref.k_tile] : 1.0f)};
          // Prefetch a later tile of this task (the next one, or further for fast products:
          // KeyQk::kPrefetchAhead) when it is a whole one (the common case).
          constexpr uint32_t ahead = KeyQk::kPrefetchAhead;
          if (kn == kTileK && e + ahead < e1) {
            const int nt = a.plan.refs[e + ahead].k_tile;
            if ((nt + 1) * kTileK <= valid_k) {
              ft.next_k = narrow ? k_all + (head * L.k_tiles + nt) * k_tile_elems : k_all + kv + static_cast<long>(nt) * kTileK * D;
              ft.next_v = v_all + kv + static_cast<long>(nt) * kTileK * D;
            }
          }
          few_rows_tile<V>(rows.n, q, D, Dp, ft, masked ? ws.masks : nullptr, ws, key_qk, value_pv);
          continue;
        }
        if constexpr (narrow) {
          const bool int8 = std::is_same<T, int8_t>::value;
          const float k_scale = int8 ? cache->k_scale[head * L.k_tiles + ref.k_tile] : 1.0f;
          widen_key_tile<V>(k_tile, D, k_scale, kscale, kt);
          widen_value_tile<V>(v_tile, kn, D, Dp, int8 ? cache->v_scale + head * D : nullptr, vt_packed);
        } else {
          pack_key_tile<V>(k_tile, kn, D, kscale, kt);
          if (L.pack_v)
            pack_value_tile(v_tile, kn, D, Dp, vt_packed);
          else
            vt = v_tile;
        }
        row_blocks<V, Blk::R>(0, rows.n, q, kt, vt, D, Dp, masked ? ws.masks : nullptr, ws);
      }

      if (v_channel_scale)
        for (int r = 0; r < rows.n; ++r)
          for (int d = 0; d < D; ++d) ws.o[static_cast<std::size_t>(r) * Dp + d] *= v_channel_scale[d];
      if (L.splits == 1) {
        float* out = a.out.o + row_offset(b, rows.h0, rows.i0);
        float* lse = a.out.lse ? a.out.lse + row_offset(b, rows.h0, rows.i0) / D : nullptr;
        normalize_rows<V>(ws, rows.n, D, Dp, out, lse);
      } else {
        float* part = partials + static_cast<std::size_t>(task) * partial_task;
        for (int r = 0; r < rows.n; ++r) {
          float* pr = part + static_cast<std::size_t>(r) * L.partial_floats_per_row;
          std::copy(ws.o + static_cast<std::size_t>(r) * Dp, ws.o + static_cast<std::size_t>(r) * Dp + D, pr);
          pr[Dp] = ws.m[r * W];
          pr[Dp + 1] = simd::hsum(V::load_aligned(ws.l + r * W));
        }
      }
    }

    // Merge the splits of every row: O = sum_s 2^(m_s - M) o_s / sum_s 2^(m_s - M) l_s.
    if (L.splits > 1) {
#pragma omp for schedule(static)
      for (long t = 0; t < base_tasks * kTileQ; ++t) {
        const long bt = t / kTileQ;
        const int r = static_cast<int>(t % kTileQ);
        int b, kvh;
        const DecodeRows rows = task_rows(bt, b, kvh);
        if (r >= rows.n) continue;
        const float* part = partials + static_cast<std::size_t>(bt) * L.splits * partial_task +
                            static_cast<std::size_t>(r) * L.partial_floats_per_row;
        float M = neg_inf;
        for (int s = 0; s < L.splits; ++s) M = std::max(M, part[s * partial_task + Dp]);
        const auto [h, i] = rows.id(r);
        float* out = a.out.o + row_offset(b, h, i);
        float sum = 0;
        std::fill(out, out + D, 0.0f);
        if (M != neg_inf)
          for (int s = 0; s < L.splits; ++s) {
            const float* ps = part + s * partial_task;
            if (ps[Dp + 1] == 0.0f) continue;
            const float w = std::exp2(ps[Dp] - M);
            sum += w * ps[Dp + 1];
            for (int d = 0; d < D; ++d) out[d] += w * ps[d];
          }
        if (a.mods.sinks) {  // the head's sink joins the merged denominator once
          const float sink = 1.4426950408889634f * a.mods.sinks[h];
          if (M == neg_inf) M = sink;
          sum += std::exp2(sink - M);
        }
        const float inv = sum > 0 ? 1.0f / sum : 0.0f;
        for (int d = 0; d < D; ++d) out[d] *= inv;
        if (a.out.lse) a.out.lse[row_offset(b, h, i) / D] = sum > 0 ? (M + std::log2(sum)) * 0.6931471805599453f : neg_inf;
      }
    }
    // Rows past an item's length are zeros (lengths need Nq == Nk, so only tiny decodes).
    if (P.has_lens()) {
#pragma omp for schedule(static)
      for (long bh = 0; bh < static_cast<long>(P.B) * P.H; ++bh) {
        const int b = static_cast<int>(bh / P.H), h = static_cast<int>(bh % P.H);
        for (int i = P.valid_q(b); i < P.Nq; ++i) {
          std::fill(a.out.o + row_offset(b, h, i), a.out.o + row_offset(b, h, i) + D, 0.0f);
          if (a.out.lse) a.out.lse[row_offset(b, h, i) / D] = neg_inf;
        }
      }
    }
  }
}

template <class Arch>
void decode_attention(const MaskedAttentionArgs& a) {
  const KvCache* c = a.in.cache;
  if (!reads_kv_cache(*a.p)) return decode_attention_from<Arch>(a, a.in.k, a.in.v, nullptr);
  // The plan checks this before calling (MaskedSoftmaxPlan::run); a kernel never falls back to
  // float32 values that a narrow problem's inputs may not hold.
  if (!c || c->dtype != a.p->dtype) throw std::logic_error("decode_attention: a narrow problem needs its KV cache");
  switch (c->dtype) {
    case DType::bf16:
      return decode_attention_from<Arch>(a, static_cast<const Bf16Bits*>(c->k), static_cast<const Bf16Bits*>(c->v), c);
    case DType::f16:
      return decode_attention_from<Arch>(a, static_cast<const F16Bits*>(c->k), static_cast<const F16Bits*>(c->v), c);
    case DType::int8:
      return decode_attention_from<Arch>(a, static_cast<const int8_t*>(c->k), static_cast<const int8_t*>(c->v), c);
    case DType::f32:
      break;
  }
  throw std::logic_error("decode_attention: no narrow cache for f32");
}

}  // namespace attn::kernels
