// The backward of linear attention (SPEC "Linear attention"), elu1 and relu maps,
// written once against simd::Vec<Arch> from the forward's pieces (features, small_gemm).
//
// With phi elementwise (M = D), num_i = phi(q_i)^T S, den_i = phi(q_i)^T z + eps, O_i = num_i / den_i:
//   G_i = dO_i / den_i,  c_i = -(dO_i . O_i) / den_i
//   dphi(q_i) = S G_i + c_i z            dq_i = phi'(q_i) * dphi(q_i)
//   dS = sum_i phi(q_i) G_i^T,  dz = sum_i c_i phi(q_i)   (over every query head of the group)
//   dphi(k_j) = dS v_j + dz              dk_j = phi'(k_j) * dphi(k_j),  dv_j = dS^T phi(k_j)
// Non-causal: one task per (batch, kv head): the state S, z in one pass over the keys, then the
// query chunks of every head of the group (dq, dS, dz), then a second pass over the keys (dk, dv).
// Causal: see linear_backward_causal. Every step is a chunk-sized matrix product.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "linear_attention.hpp"

namespace attn::kernels {

// phi'(x) for the elementwise maps: elu1: 1 above 0, e^x at or below; relu: 1 above 0, else 0.
template <class A>
inline xsimd::batch<float, A> feature_slope(const xsimd::batch<float, A>& x, FeatureMap map) {
  using B = xsimd::batch<float, A>;
  const B below = map == FeatureMap::elu1 ? simd::vexp(xsimd::min(x, B(0.0f))) : B(0.0f);
  return xsimd::select(x > B(0.0f), B(1.0f), below);
}
inline simd::Scalar1 feature_slope(simd::Scalar1 x, FeatureMap map) {
  if (x.v > 0.0f) return 1.0f;
  return map == FeatureMap::elu1 ? simd::vexp(x).v : 0.0f;
}

// dst [cols][rows] = src [rows][cols] (row strides: cols, rows).
inline void transpose_matrix(const float* src, int rows, int cols, float* dst) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) dst[static_cast<std::size_t>(c) * rows + r] = src[static_cast<std::size_t>(r) * cols + c];
}

// out[r][d] (+)= phi'(x[r][d]) * (dphi[r][d] + add[d] * (coef ? coef[r] : 1)) for r < rows, d < D
// (accumulate: dK sums the query heads of a group).
template <class V>
inline void chain_feature_slope(const float* x, const float* dphi, int Mp, const float* add, const float* coef, int rows,
                                int D, FeatureMap map, float* out, bool accumulate = false) {
  constexpr int W = static_cast<int>(V::size);
  const int d_vec = D / W * W;
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<long>(r) * D;
    const float* gr = dphi + static_cast<std::size_t>(r) * Mp;
    float* o = out + static_cast<long>(r) * D;
    const V k(coef ? coef[r] : 1.0f);
    for (int d = 0; d < d_vec; d += W) {
      const V g = feature_slope(V::load_unaligned(xr + d), map) *
                  simd::vfma(V::load_unaligned(add + d), k, V::load_unaligned(gr + d));
      (accumulate ? V::load_unaligned(o + d) + g : g).store_unaligned(o + d);
    }
    for (int d = d_vec; d < D; ++d) {
      const simd::Scalar1 s = feature_slope(simd::Scalar1(xr[d]), map);
      const float g = s.v * (gr[d] + add[d] * (coef ? coef[r] : 1.0f));
      o[d] = accumulate ? o[d] + g : g;
    }
  }
}

// Per-thread buffers of the backward besides the forward's chunk scratch.
struct LinearBackwardScratch {
  AlignedBuffer st, ds, dst, dz, g, dphi, coef;
  LinearBackwardScratch(const LinearDims& dm) {
    const std::size_t T = kLinearChunk, state = static_cast<std::size_t>(dm.Mp) * dm.Dp;
    st.resize(state), ds.resize(state), dst.resize(state), dz.resize(dm.Mp);
    g.resize(T * dm.Dp), dphi.resize(T * dm.Mp), coef.resize(T);
  }
  static std::size_t floats(const LinearDims& dm) {
    const std::size_t T = kLinearChunk;
    return 3 * static_cast<std::size_t>(dm.Mp) * dm.Dp + dm.Mp + T * (dm.Dp + dm.Mp + 1);
  }
};

// G rows = dO / den and c = -(dO . O) / den for `rows` query rows of a chunk (G zero-padded).
template <class V>
inline void output_gradients(const LinearBackwardArgs& a, const LinearDims& dm, const LinearScratch& ws,
                             const float* dout, const float* o, int rows, LinearBackwardScratch& bs) {
  const int D = a.fwd.D, Dp = dm.Dp;
  for (int r = 0; r < kLinearChunk; ++r) {
    float* g = bs.g.data() + static_cast<std::size_t>(r) * Dp;
    if (r >= rows) {
      std::fill(g, g + Dp, 0.0f);
      bs.coef[r] = 0.0f;
      continue;
    }
    const float inv = 1.0f / (dot<V>(ws.phiq.data() + r * dm.Mp, ws.z.data(), dm.Mp) + a.fwd.eps);
    float dot_o = 0.0f;
    for (int d = 0; d < D; ++d) {
      const float go = dout[static_cast<long>(r) * D + d];
      dot_o += go * o[static_cast<long>(r) * D + d];
      g[d] = go * inv;
    }
    std::fill(g + D, g + Dp, 0.0f);
    bs.coef[r] = -dot_o * inv;
  }
}

template <class V>
void linear_backward_noncausal(const LinearBackwardArgs& ba, const LinearDims& dm) {
  constexpr int T = kLinearChunk, R = GemmBlocking<V>::R;
  const LinearAttentionArgs& a = ba.fwd;
  const int Mp = dm.Mp, Dp = dm.Dp, D = a.D, group = a.H / a.Hkv;
  const long kv_heads = static_cast<long>(a.B) * a.Hkv;
  auto padded = [](int rows) { return (rows + R - 1) / R * R; };
#pragma omp parallel
  {
    LinearScratch ws(a, dm);
    LinearBackwardScratch bs(dm);
    const FeatureWork fw{&a, Mp, nullptr, ws.xs.data()};
#pragma omp for schedule(dynamic, 1)
    for (long kvhead = 0; kvhead < kv_heads; ++kvhead) {
      const int b = static_cast<int>(kvhead / a.Hkv);
      const int nk = linear_valid_k(a, b), nq = linear_valid_q(a, b);
      const float* k = a.k + kvhead * a.Nk * D;
      const float* v = a.v + kvhead * a.Nk * D;
      // The state S, z, as the forward builds it, and S transposed for the dphi(q) product.
      std::fill(ws.s.data(), ws.s.data() + static_cast<std::size_t>(Mp) * Dp, 0.0f);
      std::fill(ws.z.data(), ws.z.data() + Mp, 0.0f);
      for (int c0 = 0; c0 < nk; c0 += T) {
        const int rows = std::min(T, nk - c0);
        chunk_features<V>(fw, k + static_cast<long>(c0) * D, rows, ws.phik.data(), nullptr);
        pack_value_chunk(v + static_cast<long>(c0) * D, rows, D, Dp, ws.vc.data());
        update_state<V>(dm, rows, ws);
      }
      transpose_matrix(ws.s.data(), Mp, Dp, bs.st.data());
      std::fill(bs.ds.data(), bs.ds.data() + static_cast<std::size_t>(Mp) * Dp, 0.0f);
      std::fill(bs.dz.data(), bs.dz.data() + Mp, 0.0f);
      // Query chunks of every head of the group: dq, and their sums into dS and dz.
      for (int hh = 0; hh < group; ++hh) {
        const long bh = static_cast<long>(b) * a.H + static_cast<long>(kvhead % a.Hkv) * group + hh;
        const float* q = a.q + bh * a.Nq * D;
        float* dq = ba.dq + bh * a.Nq * D;
        for (int c0 = 0; c0 < nq; c0 += T) {
          const int rows = std::min(T, nq - c0);
          const long off = static_cast<long>(c0) * D;
          chunk_features<V>(fw, q + off, rows, ws.phiq.data(), nullptr);
          output_gradients<V>(ba, dm, ws, ba.dout + bh * a.Nq * D + off, ba.o + bh * a.Nq * D + off, rows, bs);
          gemm<V>(padded(rows), Mp, Dp, bs.g.data(), Dp, bs.st.data(), Mp, bs.dphi.data(), Mp, false);
          chain_feature_slope<V>(q + off, bs.dphi.data(), Mp, ws.z.data(), bs.coef.data(), rows, D, a.map, dq + off);
          gemm<V>(Mp, Dp, rows, ws.phiq.data(), 1, bs.g.data(), Dp, bs.ds.data(), Dp, true, Mp);
          for (int r = 0; r < rows; ++r)
            for (int m = 0; m < Mp; ++m) bs.dz[m] += bs.coef[r] * ws.phiq[static_cast<std::size_t>(r) * Mp + m];
        }
        std::memset(dq + static_cast<long>(nq) * D, 0, sizeof(float) * (a.Nq - nq) * D);
      }
      // Second pass over the keys: dk and dv.
      transpose_matrix(bs.ds.data(), Mp, Dp, bs.dst.data());
      float* dk = ba.dk + kvhead * a.Nk * D;
      float* dv = ba.dv + kvhead * a.Nk * D;
      for (int c0 = 0; c0 < nk; c0 += T) {
        const int rows = std::min(T, nk - c0);
        const long off = static_cast<long>(c0) * D;
        chunk_features<V>(fw, k + off, rows, ws.phik.data(), nullptr);
        pack_value_chunk(v + off, rows, D, Dp, ws.vc.data());
        gemm<V>(padded(rows), Mp, Dp, ws.vc.data(), Dp, bs.dst.data(), Mp, bs.dphi.data(), Mp, false);
        chain_feature_slope<V>(k + off, bs.dphi.data(), Mp, bs.dz.data(), nullptr, rows, D, a.map, dk + off);
        gemm<V>(padded(rows), Dp, Mp, ws.phik.data(), Mp, bs.ds.data(), Dp, ws.oc.data(), Dp, false);
        for (int r = 0; r < rows; ++r)
          std::memcpy(dv + off + static_cast<long>(r) * D, ws.oc.data() + static_cast<std::size_t>(r) * Dp, sizeof(float) * D);
      }
      std::memset(dk + static_cast<long>(nk) * D, 0, sizeof(float) * (a.Nk - nk) * D);
      std::memset(dv + static_cast<long>(nk) * D, 0, sizeof(float) * (a.Nk - nk) * D);
    }
  }
}

// The causal backward (Nq == Nk), chunk by chunk as the forward. With B_ij = G_i . v_j + c_i and
// A_ij = phi(q_i) . phi(k_j) for j <= i (both zero above the diagonal):
//   dphi(q_i) = S_<i G_i + c_i z_<i + sum_{j <= i in the chunk} B_ij phi(k_j)   (a forward pass)
//   dphi(k_j) = dS_>j v_j + dz_>j + sum_{i >= j in the chunk} B_ij phi(q_i)     (a reverse pass)
//   dv_j      = dS_>j^T phi(k_j) + sum_{i >= j in the chunk} A_ij G_i
// where S_<, z_< are the forward's running state over earlier chunks and dS_> = sum phi(q_i) G_i^T,
// dz_> = sum c_i phi(q_i) run over later chunks. G and c of every row are kept from the forward
// pass (O(N D) per thread). One task per (batch, kv head), its query heads in turn (dK, dV sum).
struct LinearCausalScratch {
  AlignedBuffer vt, bmat, g_all, c_all;
  LinearCausalScratch(const LinearAttentionArgs& a, const LinearDims& dm) {
    vt.resize(static_cast<std::size_t>(dm.Dp) * kLinearChunk);
    bmat.resize(static_cast<std::size_t>(kLinearChunk) * kLinearChunk);
    g_all.resize(static_cast<std::size_t>(a.Nq + kLinearChunk) * dm.Dp);
    c_all.resize(static_cast<std::size_t>(a.Nq) + kLinearChunk);
  }
  static std::size_t floats(const LinearAttentionArgs& a, const LinearDims& dm) {
    const std::size_t T = kLinearChunk;
    return dm.Dp * T + T * T + (a.Nq + T) * dm.Dp + a.Nq + T;
  }
};

// One chunk's A (lower, with its row sums in intra) and, given G and c, B (lower): rows_r rows.
template <class V>
inline void causal_chunk_products(const LinearDims& dm, int M, int rows, int rows_r, LinearScratch& ws,
                                  LinearCausalScratch& cs, const float* g, const float* c, float* intra) {
  constexpr int T = kLinearChunk;
  constexpr int W = static_cast<int>(V::size);
  float* am = ws.amat.data();
  gemm_lower_n<V>(rows_r, T, M, ws.phiq.data(), dm.Mp, ws.phikt.data(), T, am, T);
  for (int i = 0; i < rows_r; ++i) {
    std::fill(am + i * T + i + 1, am + i * T + T, 0.0f);
    if (intra) intra[i] = row_sum<V>(am + i * T, std::min(T, (i + W) / W * W));
  }
  if (!g) return;
  float* bm = cs.bmat.data();
  transpose_matrix(ws.vc.data(), T, dm.Dp, cs.vt.data());
  gemm<V>(rows_r, T, dm.Dp, g, dm.Dp, cs.vt.data(), T, bm, T, false);
  for (int i = 0; i < rows_r; ++i)
    for (int j = 0; j < T; ++j) bm[i * T + j] = i < rows && j <= i ? bm[i * T + j] + c[i] : 0.0f;
}

template <class V>
void linear_backward_causal(const LinearBackwardArgs& ba, const LinearDims& dm) {
  constexpr int T = kLinearChunk, R = GemmBlocking<V>::R;
  const LinearAttentionArgs& a = ba.fwd;
  const int Mp = dm.Mp, Dp = dm.Dp, D = a.D, group = a.H / a.Hkv;
  const long kv_heads = static_cast<long>(a.B) * a.Hkv;
  auto padded = [](int rows) { return (rows + R - 1) / R * R; };
#pragma omp parallel
  {
    LinearScratch ws(a, dm);
    LinearBackwardScratch bs(dm);
    LinearCausalScratch cs(a, dm);
    const FeatureWork fw{&a, Mp, nullptr, ws.xs.data()};
    float intra[T];
    // Features, transposed key features and values of the chunk at c0 (rows of it valid).
    auto load_chunk = [&](const float* q, const float* k, const float* v, int c0, int rows) {
      chunk_features<V>(fw, q + static_cast<long>(c0) * D, rows, ws.phiq.data(), nullptr);
      chunk_features<V>(fw, k + static_cast<long>(c0) * D, rows, ws.phik.data(), nullptr);
      transpose_key_features(Mp, ws);
      pack_value_chunk(v + static_cast<long>(c0) * D, rows, D, Dp, ws.vc.data());
    };
#pragma omp for schedule(dynamic, 1)
    for (long kvhead = 0; kvhead < kv_heads; ++kvhead) {
      const int b = static_cast<int>(kvhead / a.Hkv);
      const int n = linear_valid_q(a, b);
      const float* k = a.k + kvhead * a.Nk * D;
      const float* v = a.v + kvhead * a.Nk * D;
      float* dk = ba.dk + kvhead * a.Nk * D;
      float* dv = ba.dv + kvhead * a.Nk * D;
      std::fill(dk, dk + static_cast<long>(a.Nk) * D, 0.0f);
      std::fill(dv, dv + static_cast<long>(a.Nk) * D, 0.0f);
      for (int hh = 0; hh < group; ++hh) {
        const long bh = static_cast<long>(b) * a.H + static_cast<long>(kvhead % a.Hkv) * group + hh;
        const float* q = a.q + bh * a.Nq * D;
        float* dq = ba.dq + bh * a.Nq * D;
        // Forward pass: dq, and G, c of every row.
        std::fill(ws.s.data(), ws.s.data() + static_cast<std::size_t>(Mp) * Dp, 0.0f);
        std::fill(ws.z.data(), ws.z.data() + Mp, 0.0f);
        std::fill(bs.st.data(), bs.st.data() + static_cast<std::size_t>(Mp) * Dp, 0.0f);
        for (int c0 = 0; c0 < n; c0 += T) {
          const int rows = std::min(T, n - c0), rows_r = padded(rows);
          const long off = static_cast<long>(c0) * D;
          load_chunk(q, k, v, c0, rows);
          causal_chunk_products<V>(dm, a.M, rows, rows_r, ws, cs, nullptr, nullptr, intra);
          float* g = cs.g_all.data() + static_cast<std::size_t>(c0) * Dp;
          float* c = cs.c_all.data() + c0;
          for (int r = 0; r < T; ++r) {
            float* gr = g + static_cast<std::size_t>(r) * Dp;
            if (r >= rows) {
              std::fill(gr, gr + Dp, 0.0f);
              c[r] = 0.0f;
              continue;
            }
            const float inv = 1.0f / (dot<V>(ws.phiq.data() + r * Mp, ws.z.data(), Mp) + intra[r] + a.eps);
            const float* go = ba.dout + (bh * a.Nq + c0 + r) * D;
            const float* o = ba.o + (bh * a.Nq + c0 + r) * D;
            float dot_o = 0.0f;
            for (int d = 0; d < D; ++d) dot_o += go[d] * o[d], gr[d] = go[d] * inv;
            std::fill(gr + D, gr + Dp, 0.0f);
            c[r] = -dot_o * inv;
          }
          causal_chunk_products<V>(dm, a.M, rows, rows_r, ws, cs, g, c, nullptr);
          gemm<V>(rows_r, Mp, Dp, g, Dp, bs.st.data(), Mp, bs.dphi.data(), Mp, false);
          gemm_lower_k<V>(rows_r, Mp, cs.bmat.data(), T, ws.phik.data(), Mp, bs.dphi.data(), Mp, true);
          chain_feature_slope<V>(q + off, bs.dphi.data(), Mp, ws.z.data(), c, rows, D, a.map, dq + off);
          update_state<V>(dm, rows, ws);
          transpose_matrix(ws.s.data(), Mp, Dp, bs.st.data());
        }
        std::fill(dq + static_cast<long>(n) * D, dq + static_cast<long>(a.Nq) * D, 0.0f);
        // Reverse pass: dk, dv (summed over the group's heads).
        std::fill(bs.ds.data(), bs.ds.data() + static_cast<std::size_t>(Mp) * Dp, 0.0f);
        std::fill(bs.dz.data(), bs.dz.data() + Mp, 0.0f);
        for (int c0 = (n - 1) / T * T; c0 >= 0; c0 -= T) {
          const int rows = std::min(T, n - c0), rows_r = padded(rows);
          const long off = static_cast<long>(c0) * D;
          const float* g = cs.g_all.data() + static_cast<std::size_t>(c0) * Dp;
          const float* c = cs.c_all.data() + c0;
          load_chunk(q, k, v, c0, rows);
          causal_chunk_products<V>(dm, a.M, rows, rows_r, ws, cs, g, c, nullptr);
          transpose_matrix(bs.ds.data(), Mp, Dp, bs.dst.data());
          gemm<V>(rows_r, Mp, Dp, ws.vc.data(), Dp, bs.dst.data(), Mp, bs.dphi.data(), Mp, false);
          gemm<V>(rows_r, Mp, rows_r, cs.bmat.data(), 1, ws.phiq.data(), Mp, bs.dphi.data(), Mp, true, T);
          chain_feature_slope<V>(k + off, bs.dphi.data(), Mp, bs.dz.data(), nullptr, rows, D, a.map, dk + off, true);
          gemm<V>(rows_r, Dp, Mp, ws.phik.data(), Mp, bs.ds.data(), Dp, ws.oc.data(), Dp, false);
          gemm<V>(rows_r, Dp, rows_r, ws.amat.data(), 1, g, Dp, ws.oc.data(), Dp, true, T);
          for (int r = 0; r < rows; ++r)
            for (int d = 0; d < D; ++d) dv[off + static_cast<long>(r) * D + d] += ws.oc[static_cast<std::size_t>(r) * Dp + d];
          gemm<V>(Mp, Dp, rows, ws.phiq.data(), 1, g, Dp, bs.ds.data(), Dp, true, Mp);
          for (int r = 0; r < rows; ++r)
            for (int m = 0; m < Mp; ++m) bs.dz[m] += c[r] * ws.phiq[static_cast<std::size_t>(r) * Mp + m];
        }
      }
    }
  }
}

template <class Arch>
void linear_backward(const LinearBackwardArgs& ba) {
  using V = simd::Vec<Arch>;
  const LinearDims dm(ba.fwd, static_cast<int>(V::size));
  if (ba.fwd.causal)
    linear_backward_causal<V>(ba, dm);
  else
    linear_backward_noncausal<V>(ba, dm);
}

// Extra memory linear_backward allocates: per thread the forward's chunk scratch and its own
// (causal: also G and c of every query row of a head).
inline std::size_t linear_backward_workspace(const LinearAttentionArgs& a, int W) {
  const LinearDims dm(a, W);
  const std::size_t causal = a.causal ? LinearCausalScratch::floats(a, dm) : 0;
  return sizeof(float) * (LinearScratch::floats(a, dm) + LinearBackwardScratch::floats(dm) + causal) *
         omp_get_max_threads();
}

}  // namespace attn::kernels
