// Nystromformer's landmark work (variants/nystrom.cpp): the segment means that make the
// landmarks, and per query head the m x m middle of O = softmax(Q Kl^T) pinv(A) softmax(Ql K^T) V,
// A = softmax(scale Ql Kl^T). The two N x m softmax products run on the flash engine (the
// variant plans them); this file is the landmark kernel A, its pseudo-inverse and
// mixed = pinv(A) (softmax(Ql K^T) V), all as small_gemm products on zero-padded rows.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "aligned_buffer.hpp"
#include "lra_args.hpp"
#include "pinv_f64.hpp"
#include "row_softmax.hpp"
#include "small_gemm.hpp"

namespace attn::kernels {

template <class Arch>
void segment_means(const SegmentMeansArgs& a) {
  using V = simd::Vec<Arch>;
  constexpr int W = static_cast<int>(V::size);
  const int D = a.D, Dv = D / W * W;
#pragma omp parallel for schedule(static)
  for (long t = 0; t < static_cast<long>(a.heads) * a.segments; ++t) {
    const long head = t / a.segments, l = t % a.segments;
    const long r0 = segment_begin(l, a.n, a.segments), r1 = segment_begin(l + 1, a.n, a.segments);
    const float* x = a.x + head * a.n * D;
    float* out = a.out + t * D;
    const float inv = 1.0f / static_cast<float>(r1 - r0);
    for (int d = 0; d < Dv; d += W) {
      V acc(0.0f);
      for (long r = r0; r < r1; ++r) acc = acc + V::load_unaligned(x + r * D + d);
      (acc * V(inv)).store_unaligned(out + d);
    }
    for (int d = Dv; d < D; ++d) {
      float acc = 0;
      for (long r = r0; r < r1; ++r) acc += x[r * D + d];
      out[d] = acc * inv;
    }
  }
}

// Scratch of one landmark task ([m][mp] matrices unless said otherwise; mp, Dp padded).
struct LandmarkScratch {
  float *klt, *a, *z, *az, *t1, *t2, *rhs, *y;  // klt [D][mp]; rhs, y [m][Dp]
  LandmarkScratch(float* base, int m, int mp, int D, int Dp) {
    const std::size_t sq = static_cast<std::size_t>(m) * mp, md = static_cast<std::size_t>(m) * Dp;
    klt = base, a = klt + static_cast<std::size_t>(D) * mp, z = a + sq, az = z + sq, t1 = az + sq, t2 = t1 + sq;
    rhs = t2 + sq, y = rhs + md;
  }
};

// c = k I - c on the first m columns of each of m rows (the padding stays 0).
template <class V>
inline void negate_plus_identity(float* c, int m, int mp, float k) {
  constexpr int W = static_cast<int>(V::size);
  for (int i = 0; i < m; ++i) {
    float* row = c + static_cast<long>(i) * mp;
    for (int j = 0; j < mp; j += W) (V(0.0f) - V::load_unaligned(row + j)).store_unaligned(row + j);
    row[i] += k;
  }
}

// Nystromformer's iterative pseudo-inverse (Xiong et al. 2021, after Razavi et al. 2014):
// Z0 = A^T / max_j sum_i A_ij, then Z <- Z (13 I - AZ (15 I - AZ (7 I - AZ))) / 4, four m x m
// products per round.
template <class V>
void iterative_pinv(const LandmarkScratch& s, int m, int mp, int iterations) {
  constexpr int W = static_cast<int>(V::size);
  float column_max = 0;
  for (int j = 0; j < m; ++j) {
    float col = 0;
    for (int i = 0; i < m; ++i) col += s.a[static_cast<long>(i) * mp + j];
    column_max = std::max(column_max, col);
  }
  const float inv = 1.0f / column_max;
  for (int i = 0; i < m; ++i) {
    float* row = s.z + static_cast<long>(i) * mp;
    for (int j = 0; j < m; ++j) row[j] = s.a[static_cast<long>(j) * mp + i] * inv;
    std::fill(row + m, row + mp, 0.0f);
  }
  for (int it = 0; it < iterations; ++it) {
    gemm<V>(m, mp, m, s.a, mp, s.z, mp, s.az, mp, false);  // AZ
    std::copy(s.az, s.az + static_cast<long>(m) * mp, s.t1);
    negate_plus_identity<V>(s.t1, m, mp, 7.0f);             // 7I - AZ
    gemm<V>(m, mp, m, s.az, mp, s.t1, mp, s.t2, mp, false);  // AZ (7I - AZ)
    negate_plus_identity<V>(s.t2, m, mp, 15.0f);
    gemm<V>(m, mp, m, s.az, mp, s.t2, mp, s.t1, mp, false);
    negate_plus_identity<V>(s.t1, m, mp, 13.0f);
    gemm<V>(m, mp, m, s.z, mp, s.t1, mp, s.t2, mp, false);  // Z (13I - ...)
    for (long i = 0; i < static_cast<long>(m) * mp; i += W) (V::load_unaligned(s.t2 + i) * V(0.25f)).store_unaligned(s.z + i);
  }
}

template <class Arch>
void landmark_mix(const LandmarkMixArgs& a) {
  using V = simd::Vec<Arch>;
  constexpr int W = static_cast<int>(V::size);
  const int m = a.m, D = a.D, mp = round_up_to(m, W), Dp = round_up_to(D, W), group = a.H / a.Hkv;
#pragma omp parallel num_threads(a.threads)
  {
    AlignedBuffer scratch(landmark_scratch_floats(m, D, W));
    const LandmarkScratch s(scratch.data(), m, mp, D, Dp);
#pragma omp for schedule(dynamic, 1)
    for (long bh = 0; bh < static_cast<long>(a.B) * a.H; ++bh) {
      const long kvh = bh / a.H * a.Hkv + (bh % a.H) / group;
      const float* ql = a.q_landmarks + bh * m * D;
      const float* kl = a.k_landmarks + kvh * m * D;
      // A = softmax(scale Ql Kl^T): Kl^T scaled and zero-padded, one product, row softmaxes.
      for (int d = 0; d < D; ++d) {
        float* row = s.klt + static_cast<long>(d) * mp;
        for (int j = 0; j < m; ++j) row[j] = a.scale * kl[static_cast<long>(j) * D + d];
        std::fill(row + m, row + mp, 0.0f);
      }
      gemm<V>(m, mp, D, ql, D, s.klt, mp, s.a, mp, false);
      for (int i = 0; i < m; ++i) softmax_row<V>(s.a + static_cast<long>(i) * mp, m);
      if (a.exact_pinv)
        pinv_exact_f32(s.a, m, mp, s.z, mp, pinv_rtol_f32(m));
      else
        iterative_pinv<V>(s, m, mp, a.iterations);
      // mixed = Z (softmax(Ql K^T) V).
      pack_rows_padded<V>(a.kernel3_v + bh * m * D, m, D, Dp, s.rhs);
      gemm<V>(m, Dp, m, s.z, mp, s.rhs, Dp, s.y, Dp, false);
      unpack_rows<V>(s.y, m, D, Dp, a.mixed + bh * m * D);
    }
  }
}

}  // namespace attn::kernels
