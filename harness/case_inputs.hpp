// Q, K, V for one sweep case, generated from a seed derived from the shape, so every
// variant of a shape sees the same inputs (and a rerun sees them again).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "problem.hpp"

namespace attn {

struct CaseInputs {
  Problem problem;
  std::vector<float> q, k, v;
  std::vector<int> lens;  // empty: every item uses all rows
  Tensors tensors() const { return {q.data(), k.data(), v.data()}; }
};

// Input generators by name ("gaussian": i.i.d. N(0, 1)). Throws UserError on unknown names.
void generate_inputs(const std::string& kind, std::uint64_t seed, CaseInputs& in);
// The seed of a shape: a hash of B, H, Hkv, Nq, Nk, D and the generator.
std::uint64_t input_seed(const Problem& p, const std::string& kind);
// Bytes of Q, K, V and O for this problem.
std::size_t tensor_bytes(const Problem& p);

}  // namespace attn
