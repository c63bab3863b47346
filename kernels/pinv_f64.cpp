#include "pinv_f64.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace attn {

void pinv_exact(const double* a, int m, int lda, double* z, int ldz, double rtol) {
  // u holds the columns of A V as rows (row j = column j), vt the columns of V as rows.
  std::vector<double> u(static_cast<std::size_t>(m) * m), vt(static_cast<std::size_t>(m) * m, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) u[static_cast<std::size_t>(j) * m + i] = a[static_cast<long>(i) * lda + j];
  for (int j = 0; j < m; ++j) vt[static_cast<std::size_t>(j) * m + j] = 1.0;
  auto dot = [m](const double* x, const double* y) {
    double s = 0;
    for (int i = 0; i < m; ++i) s += x[i] * y[i];
    return s;
  };
  // Rotate column pairs until every pair is orthogonal to working precision.
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int p = 0; p < m - 1; ++p)
      for (int q = p + 1; q < m; ++q) {
        double* up = &u[static_cast<std::size_t>(p) * m];
        double* uq = &u[static_cast<std::size_t>(q) * m];
        const double alpha = dot(up, up), beta = dot(uq, uq), gamma = dot(up, uq);
        if (gamma == 0.0 || std::abs(gamma) <= 1e-15 * std::sqrt(alpha * beta)) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        double* vp = &vt[static_cast<std::size_t>(p) * m];
        double* vq = &vt[static_cast<std::size_t>(q) * m];
        for (int i = 0; i < m; ++i) {
          const double x = up[i], y = uq[i];
          up[i] = c * x - s * y, uq[i] = s * x + c * y;
          const double vx = vp[i], vy = vq[i];
          vp[i] = c * vx - s * vy, vq[i] = s * vx + c * vy;
        }
      }
    if (!rotated) break;
  }
  // A = (A V) V^T with orthogonal columns w_j = A v_j of norm sigma_j:
  // pinv(A) = sum_j v_j w_j^T / sigma_j^2 over the singular values above the cut-off.
  std::vector<double> sq(m);
  double largest = 0;
  for (int j = 0; j < m; ++j) {
    sq[j] = dot(&u[static_cast<std::size_t>(j) * m], &u[static_cast<std::size_t>(j) * m]);
    largest = std::max(largest, std::sqrt(sq[j]));
  }
  for (int i = 0; i < m; ++i) std::fill(z + static_cast<long>(i) * ldz, z + static_cast<long>(i) * ldz + m, 0.0);
  for (int j = 0; j < m; ++j) {
    if (std::sqrt(sq[j]) <= rtol * largest || sq[j] == 0.0) continue;
    const double* w = &u[static_cast<std::size_t>(j) * m];
    const double* v = &vt[static_cast<std::size_t>(j) * m];
    for (int i = 0; i < m; ++i) {
      const double f = v[i] / sq[j];
      for (int l = 0; l < m; ++l) z[static_cast<long>(i) * ldz + l] += f * w[l];
    }
  }
}

// c = a b for m x m matrices.
namespace {
std::vector<double> product(const std::vector<double>& a, const std::vector<double>& b, int m) {
  std::vector<double> c(static_cast<std::size_t>(m) * m, 0.0);
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < m; ++k)
      for (int j = 0; j < m; ++j) c[i * m + j] += a[i * m + k] * b[k * m + j];
  return c;
}
}  // namespace

std::vector<double> pinv_iterative_f64(const std::vector<double>& a, int m, int iterations) {
  double column_max = 0;
  for (int j = 0; j < m; ++j) {
    double col = 0;
    for (int i = 0; i < m; ++i) col += a[i * m + j];
    column_max = std::max(column_max, col);
  }
  std::vector<double> z(static_cast<std::size_t>(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) z[i * m + j] = a[j * m + i] / column_max;
  auto minus_from_identity = [m](std::vector<double> x, double k) {
    for (double& e : x) e = -e;
    for (int i = 0; i < m; ++i) x[i * m + i] += k;
    return x;
  };
  for (int it = 0; it < iterations; ++it) {
    const auto az = product(a, z, m);
    const auto inner = minus_from_identity(product(az, minus_from_identity(az, 7), m), 15);
    z = product(z, minus_from_identity(product(az, inner, m), 13), m);
    for (double& e : z) e *= 0.25;
  }
  return z;
}

void pinv_exact_f32(const float* a, int m, int lda, float* z, int ldz, double rtol) {
  std::vector<double> a64(static_cast<std::size_t>(m) * m), z64(static_cast<std::size_t>(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) a64[static_cast<std::size_t>(i) * m + j] = a[static_cast<long>(i) * lda + j];
  pinv_exact(a64.data(), m, m, z64.data(), m, rtol);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) z[static_cast<long>(i) * ldz + j] = static_cast<float>(z64[static_cast<std::size_t>(i) * m + j]);
}

}  // namespace attn
