#include "case_inputs.hpp"

#include <random>

#include "case_grid.hpp"
#include "errors.hpp"

namespace attn {

std::uint64_t input_seed(const Problem& p, const std::string& kind) {
  return fnv1a64(kind + "|" + std::to_string(p.B) + "," + std::to_string(p.H) + "," + std::to_string(p.Hkv) + "," +
                 std::to_string(p.Nq) + "," + std::to_string(p.Nk) + "," + std::to_string(p.D));
}

std::size_t tensor_bytes(const Problem& p) {
  const std::size_t q = static_cast<std::size_t>(p.B) * p.H * p.Nq * p.D;
  const std::size_t kv = static_cast<std::size_t>(p.B) * p.Hkv * p.Nk * p.D;
  return sizeof(float) * (2 * q + 2 * kv);
}

void generate_inputs(const std::string& kind, std::uint64_t seed, CaseInputs& in) {
  const Problem& p = in.problem;
  in.q.resize(static_cast<std::size_t>(p.B) * p.H * p.Nq * p.D);
  in.k.resize(static_cast<std::size_t>(p.B) * p.Hkv * p.Nk * p.D);
  in.v.resize(in.k.size());
  if (kind == "gaussian") {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto* t : {&in.q, &in.k, &in.v})
      for (float& x : *t) x = normal(rng);
    return;
  }
  throw UserError("unknown input generator '" + kind + "' (known: gaussian)");
}

}  // namespace attn
