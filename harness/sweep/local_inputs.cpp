#include "local_inputs.hpp"

#include <cmath>
#include <random>
#include <vector>

namespace attn {

namespace {
// out = R(pos) u + noise * N(0, 1): dimension pairs (2m, 2m + 1) turn by pos * theta_m.
void rotated(const std::vector<double>& u, long pos, double noise, std::mt19937_64& rng, float* out) {
  std::normal_distribution<double> normal(0.0, 1.0);
  const int D = static_cast<int>(u.size());
  for (int d = 0; d + 1 < D; d += 2) {
    const double theta = std::pow(10000.0, -static_cast<double>(d) / D);
    const double c = std::cos(pos * theta), s = std::sin(pos * theta);
    out[d] = static_cast<float>(c * u[d] - s * u[d + 1] + noise * normal(rng));
    out[d + 1] = static_cast<float>(s * u[d] + c * u[d + 1] + noise * normal(rng));
  }
  if (D % 2) out[D - 1] = static_cast<float>(u[D - 1] + noise * normal(rng));
}
}  // namespace

void fill_local_inputs(const Problem& p, std::uint64_t seed, float* q, float* k, float* v) {
  const double noise = 0.5;
  const long D = p.D, shift = static_cast<long>(p.Nk) - p.Nq;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> u(D);
  for (long b = 0; b < p.B; ++b)
    for (int hk = 0; hk < p.Hkv; ++hk) {
      // Query heads that share this key/value head share its base vector.
      for (double& x : u) x = 1.5 * normal(rng);
      for (long j = 0; j < p.Nk; ++j) rotated(u, j, noise, rng, k + ((b * p.Hkv + hk) * p.Nk + j) * D);
      for (int h = hk * (p.H / p.Hkv); h < (hk + 1) * (p.H / p.Hkv); ++h)
        for (long i = 0; i < p.Nq; ++i) rotated(u, i + shift, noise, rng, q + ((b * p.H + h) * p.Nq + i) * D);
      for (long x = 0; x < p.Nk * D; ++x) v[(b * p.Hkv + hk) * p.Nk * D + x] = static_cast<float>(normal(rng));
    }
}

}  // namespace attn
