// Inputs with a positional signal ("--inputs local"): nearby keys score higher, as in trained
// language models, so sparse variants can be judged on inputs where locality is real.
#pragma once
#include <cstdint>

#include "problem.hpp"

namespace attn {

// Per (batch, head): one random base vector u, rotated as in rotary embeddings (RoPE):
// q_i = R(i) u + noise, k_j = R(j) u + noise, so q_i . k_j ~ sum_d |u_d|^2 cos((i - j) theta_d)
// peaks at j = i and falls off with distance. V is N(0, 1). q [B,H,Nq,D], k and v [B,Hkv,Nk,D];
// query row i sits at position i + Nk - Nq (bottom-right alignment).
void fill_local_inputs(const Problem& p, std::uint64_t seed, float* q, float* k, float* v);

}  // namespace attn
