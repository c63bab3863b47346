#include "sinkhorn_sort.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace attn::sinkhorn {

std::vector<float> sorting_weights(int D, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> w(static_cast<std::size_t>(D) * D);
  for (float& x : w) x = static_cast<float>(normal(rng) / std::sqrt(static_cast<double>(D)));
  return w;
}

namespace {
// L = log-domain balanced logits, [nb][nb]; scratch as in scratch_doubles.
void balanced_logits(const float* k, long n, int D, long block, int iters, const float* w, double* scratch) {
  const long nb = (n + block - 1) / block;
  double* kbar = scratch;           // [nb][D]
  double* t = kbar + nb * D;        // [nb][D]: kbar W
  double* L = t + nb * D;           // [nb][nb]
  std::fill(kbar, kbar + nb * D, 0.0);
  for (long j = 0; j < n; ++j) {
    double* row = kbar + (j / block) * D;
    for (int d = 0; d < D; ++d) row[d] += k[j * D + d];
  }
  for (long J = 0; J < nb; ++J) {
    const double inv = 1.0 / static_cast<double>(std::min(block, n - J * block));
    for (int d = 0; d < D; ++d) kbar[J * D + d] *= inv;
  }
  std::fill(t, t + nb * D, 0.0);
  for (long I = 0; I < nb; ++I)
    for (int d = 0; d < D; ++d) {
      const double a = kbar[I * D + d];
      for (int e = 0; e < D; ++e) t[I * D + e] += a * w[static_cast<long>(d) * D + e];
    }
  for (long I = 0; I < nb; ++I)
    for (long J = 0; J < nb; ++J) {
      double s = 0;
      for (int d = 0; d < D; ++d) s += t[I * D + d] * kbar[J * D + d];
      L[I * nb + J] = s;
    }
  auto logsumexp = [](const double* x, long count, long stride) {
    double m = -INFINITY;
    for (long c = 0; c < count; ++c) m = std::max(m, x[c * stride]);
    double s = 0;
    for (long c = 0; c < count; ++c) s += std::exp(x[c * stride] - m);
    return m + std::log(s);
  };
  for (int it = 0; it < iters; ++it) {
    for (long I = 0; I < nb; ++I) {
      const double z = logsumexp(L + I * nb, nb, 1);
      for (long J = 0; J < nb; ++J) L[I * nb + J] -= z;
    }
    for (long J = 0; J < nb; ++J) {
      const double z = logsumexp(L + J, nb, nb);
      for (long I = 0; I < nb; ++I) L[I * nb + J] -= z;
    }
  }
}
}  // namespace

void permutation(const float* k, long n, int D, long block, int iters, const float* w, double* scratch, int* pi) {
  const long nb = (n + block - 1) / block;
  balanced_logits(k, n, D, block, iters, w, scratch);
  const double* L = scratch + 2 * nb * D;
  double* taken = scratch + 2 * nb * D + nb * nb;  // 0 or 1 per block
  std::fill(taken, taken + nb, 0.0);
  for (long I = 0; I < nb; ++I) {
    long best = -1;
    for (long J = 0; J < nb; ++J)
      if (taken[J] == 0.0 && (best < 0 || L[I * nb + J] > L[I * nb + best])) best = J;
    taken[best] = 1.0;
    pi[I] = static_cast<int>(best);
  }
}

std::vector<double> balanced(const float* k, long n, int D, long block, int iters, const float* w) {
  const long nb = (n + block - 1) / block;
  std::vector<double> scratch(scratch_doubles(nb, D));
  balanced_logits(k, n, D, block, iters, w, scratch.data());
  std::vector<double> p(scratch.begin() + 2 * nb * D, scratch.begin() + 2 * nb * D + nb * nb);
  for (double& x : p) x = std::exp(x);
  return p;
}

}  // namespace attn::sinkhorn
