// Reformer's angular LSH (Kitaev et al. 2020): per hash round, bucket(x) = argmax([xR; -xR])
// over a seeded random Gaussian rotation R [D, buckets/2] that queries and keys share (first
// index on ties; one bucket puts every row in bucket 0). Then rows are sorted by bucket, stably
// (ties keep their position order).
#pragma once
#include <cstdint>
#include <vector>

namespace attn::lsh {

// The rotations of every round side by side: column round * half + m of r, [D][cols].
struct Rotations {
  int D = 0, buckets = 1, rounds = 1, half = 0;
  int cols = 0;               // rounds * half, padded to a multiple of 16 (any ISA's vector)
  std::vector<float> r;       // [D][cols], padding columns zero
  double max_col_norm = 0.0;  // max over columns of |R[:, c]|_2
};

Rotations make_rotations(int D, int buckets, int rounds, unsigned seed);

// The definition: bucket of row x in `round`, from float64 projections of the float32 values.
int bucket_f64(const Rotations& R, const float* x, int round);

// The ISA's small GEMM, C[rows][n] = A[rows][kn] B[kn][n] (KernelTable::gemm).
using GemmFn = void (*)(int rows, int n, int kn, const float* a, long lda, const float* b, long ldb, float* c, long ldc);

// Rows per projection block: the scratch `proj` holds kBlockRows x R.cols floats.
constexpr int kBlockRows = 128;

// Buckets of n rows of x (row stride D) for every round into out[round * round_stride + i]: float32
// projections through `gemm`, and bucket_f64 for a row whose two largest |projections| are
// closer than float32's rounding bound allows to order (so the result always equals
// bucket_f64's).
void hash_rows(const Rotations& R, GemmFn gemm, const float* x, long n, float* proj, int32_t* out, long round_stride);

// Stable counting sort of n bucket ids in [0, buckets): perm[rank] = row, rank_of[row] = rank.
// count is scratch for buckets + 1 ints.
void sort_by_bucket(const int32_t* bucket, long n, int buckets, int32_t* count, int32_t* perm, int32_t* rank_of);

}  // namespace attn::lsh
