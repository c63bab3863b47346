// Pseudo-inverses of small square matrices in float64. pinv_exact: the Moore-Penrose inverse by
// one-sided Jacobi (Hestenes) SVD, Nystromformer's pinv=exact and its reference; plain scalar
// code, O(sweeps m^3), for exactness checks and modest landmark counts, not for speed.
// pinv_iterative_f64: the paper's iteration written plainly (the float64 reference of the SIMD
// kernels/nystrom_landmarks.hpp). Compiled once with the baseline flags (kernels/pinv_f64.cpp),
// never inside an ISA build.
#pragma once
#include <vector>

namespace attn {

// z [m][m] = pinv(a [m][m]), dropping singular values at or below rtol * (the largest): the
// pseudo-inverse of the nearest matrix of that numerical rank. Row strides lda, ldz.
void pinv_exact(const double* a, int m, int lda, double* z, int ldz, double rtol);
// The same for float32 matrices (computed in float64, rounded once at the end).
void pinv_exact_f32(const float* a, int m, int lda, float* z, int ldz, double rtol);
// Nystromformer's iteration (kernels/nystrom_landmarks.hpp): z = A^T / max_j sum_i a_ij, then
// `iterations` rounds of z <- z (13 I - az (15 I - az (7 I - az))) / 4; a, z [m][m] contiguous.
std::vector<double> pinv_iterative_f64(const std::vector<double>& a, int m, int iterations);
// The cut-off pinv=exact uses for a float32 matrix of order m: m float32 unit roundoffs
// (singular values below it are rounding noise of the float32 entries).
inline double pinv_rtol_f32(int m) { return m * 0x1p-24; }

}  // namespace attn
