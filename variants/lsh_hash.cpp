#include "lsh_hash.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace attn::lsh {

Rotations make_rotations(int D, int buckets, int rounds, unsigned seed) {
  Rotations R;
  R.D = D, R.buckets = buckets, R.rounds = rounds, R.half = buckets / 2;
  const int used = rounds * R.half;
  R.cols = (used + 15) / 16 * 16;
  R.r.assign(static_cast<std::size_t>(D) * R.cols, 0.0f);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int c = 0; c < used; ++c) {
    double sq = 0;
    for (int d = 0; d < D; ++d) {
      const float v = normal(rng);
      R.r[static_cast<std::size_t>(d) * R.cols + c] = v;
      sq += static_cast<double>(v) * v;
    }
    R.max_col_norm = std::max(R.max_col_norm, std::sqrt(sq));
  }
  return R;
}

int bucket_f64(const Rotations& R, const float* x, int round) {
  if (R.buckets == 1) return 0;
  // argmax over [xR; -xR], first index on ties.
  int best = 0;
  double best_value = -INFINITY;
  for (int side = 0; side < 2; ++side)
    for (int m = 0; m < R.half; ++m) {
      double proj = 0;
      for (int d = 0; d < R.D; ++d)
        proj += static_cast<double>(x[d]) * R.r[static_cast<std::size_t>(d) * R.cols + round * R.half + m];
      const double value = side == 0 ? proj : -proj;
      if (value > best_value) best_value = value, best = side * R.half + m;
    }
  return best;
}

void hash_rows(const Rotations& R, GemmFn gemm, const float* x, long n, float* proj, int32_t* out, long round_stride) {
  if (R.buckets == 1) {
    for (int round = 0; round < R.rounds; ++round) std::fill_n(out + round * round_stride, n, 0);
    return;
  }
  const int D = R.D;
  // |fl(x.r) - x.r| <= gamma_D sum_d |x_d r_d| <= gamma_D |x| |r| (Cauchy-Schwarz), gamma_D =
  // D u / (1 - D u) with u = 2^-24; 1.01 covers |x| itself computed in float32 and the 1 - D u.
  const double gamma = 1.01 * D * std::ldexp(1.0, -24);
  for (long i0 = 0; i0 < n; i0 += kBlockRows) {
    const int rows = static_cast<int>(std::min<long>(kBlockRows, n - i0));
    gemm(rows, R.cols, D, x + i0 * D, D, R.r.data(), R.cols, proj, R.cols);
    for (int ii = 0; ii < rows; ++ii) {
      const float* xi = x + (i0 + ii) * D;
      float sq = 0;
      for (int d = 0; d < D; ++d) sq += xi[d] * xi[d];
      const double err = gamma * std::sqrt(static_cast<double>(sq)) * R.max_col_norm;  // per projection
      for (int round = 0; round < R.rounds; ++round) {
        const float* pr = proj + static_cast<long>(ii) * R.cols + round * R.half;
        int top = 0;
        float a = -1.0f, second = -1.0f;  // the two largest |projections|
        for (int m = 0; m < R.half; ++m) {
          const float v = std::fabs(pr[m]);
          if (v > a) second = a, a = v, top = m;
          else if (v > second) second = v;
        }
        // In [xR; -xR] the runner-up is the second |projection| or -a (one bucket pair).
        const double margin = static_cast<double>(a) - std::max(static_cast<double>(second), -static_cast<double>(a));
        int32_t& o = out[round * round_stride + i0 + ii];
        if (margin > 2 * err) o = pr[top] > 0 ? top : R.half + top;
        else o = bucket_f64(R, xi, round);  // too close to call in float32
      }
    }
  }
}

void sort_by_bucket(const int32_t* bucket, long n, int buckets, int32_t* count, int32_t* perm, int32_t* rank_of) {
  std::fill(count, count + buckets + 1, 0);
  for (long i = 0; i < n; ++i) ++count[bucket[i] + 1];
  for (int b = 0; b < buckets; ++b) count[b + 1] += count[b];
  for (long i = 0; i < n; ++i) {
    const int32_t rank = count[bucket[i]]++;
    perm[rank] = static_cast<int32_t>(i);
    rank_of[i] = rank;
  }
}

}  // namespace attn::lsh
