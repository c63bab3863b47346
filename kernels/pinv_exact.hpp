// The Moore-Penrose pseudo-inverse of a small square matrix in float64, by one-sided Jacobi
// (Hestenes) SVD: Nystromformer's pinv=exact and the float64 references. Plain scalar code,
// O(sweeps m^3): for exactness checks and modest landmark counts, not for speed. Compiled once
// with the baseline flags (kernels/pinv_exact.cpp), never inside an ISA build.
#pragma once

namespace attn {

// z [m][m] = pinv(a [m][m]), dropping singular values at or below rtol * (the largest): the
// pseudo-inverse of the nearest matrix of that numerical rank. Row strides lda, ldz.
void pinv_exact(const double* a, int m, int lda, double* z, int ldz, double rtol);
// The same for float32 matrices (computed in float64, rounded once at the end).
void pinv_exact_f32(const float* a, int m, int lda, float* z, int ldz, double rtol);
// The cut-off pinv=exact uses for a float32 matrix of order m: m float32 unit roundoffs
// (singular values below it are rounding noise of the float32 entries).
inline double pinv_rtol_f32(int m) { return m * 0x1p-24; }

}  // namespace attn
