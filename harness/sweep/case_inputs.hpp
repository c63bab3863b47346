// Q, K, V for one sweep case, generated from a seed derived from the shape, so every
// variant of a shape sees the same inputs (and a rerun sees them again).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "large_pages.hpp"
#include "problem.hpp"

namespace attn {

struct CaseInputs {
  Problem problem;
  LargeVector<float> q, k, v;
  std::vector<int> lens;  // empty: every item uses all rows
  Tensors tensors() const { return {q.data(), k.data(), v.data()}; }
};

// Input generators by name: "gaussian" (i.i.d. N(0, 1)) or "local" (a positional signal, so
// nearby keys score higher: harness/local_inputs.hpp). Throws UserError on unknown names.
void generate_inputs(const std::string& kind, std::uint64_t seed, CaseInputs& in);
void check_input_kind(const std::string& kind);
// A sweep's --lens value in canonical form: "uniform:MIN" (MIN spelled out, 1k = 1024) or the
// explicit list "L0,L1,...". Throws UserError if it is neither.
std::string canonical_lens(const std::string& spec);
// The per-item lengths of a canonical --lens value for problem p (B items of N = Nq = Nk):
// "uniform:MIN" draws each uniformly in [MIN, N] from a seed of (spec, B, N), so every variant
// and head count of a shape sees the same lengths; a list must have B entries, each 1..N.
// Throws UserError naming the problem.
std::vector<int> case_lengths(const std::string& spec, const Problem& p);
// The seed of a shape: a hash of B, H, Hkv, Nq, Nk, D and the generator.
std::uint64_t input_seed(const Problem& p, const std::string& kind);
// Bytes of Q, K, V and O for this problem.
std::size_t tensor_bytes(const Problem& p);

}  // namespace attn
