// Sparse Sinkhorn attention's block sorting (Tay et al. 2020; SPEC "More variants"), in float64:
// the definition both the timed plan and the float64 reference use.
//   - summaries: kbar_J = mean of the keys of block J (blocks of `block` keys, the last may be short)
//   - sorting logits: R[I][J] = (kbar_I W) . kbar_J, W a seeded Gaussian [D, D] / sqrt(D) standing
//     in for the paper's learned sorting network (untrained here)
//   - Sinkhorn balancing in the log domain: `iters` rounds of row then column normalisation
//   - a hard permutation from the balanced matrix: block I, in order, takes the best block J not
//     yet taken (first J on ties)
// Query block I then attends to key block I (local) and key block pi(I) (its sorted block).
#pragma once
#include <vector>

namespace attn::sinkhorn {

std::vector<float> sorting_weights(int D, unsigned seed);  // W, [D][D]

// Scratch for permutation(): (2 D + nb + 1) nb doubles.
inline std::size_t scratch_doubles(long nb, int D) { return static_cast<std::size_t>(nb) * (2 * D + nb + 1); }

// pi for the keys k [n][D] (row stride D) in blocks of `block`: pi[I] for I < nb = ceil(n / block).
void permutation(const float* k, long n, int D, long block, int iters, const float* w, double* scratch, int* pi);

// The balanced matrix exp(L) itself ([nb][nb], row-major), for tests of the balancing.
std::vector<double> balanced(const float* k, long n, int D, long block, int iters, const float* w);

}  // namespace attn::sinkhorn
