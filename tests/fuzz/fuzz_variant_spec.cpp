// libFuzzer target: make_variant on arbitrary text. It must either build a variant or throw
// attn::UserError. A variant it builds must then run a tiny problem cleanly (its options reach
// mask builders and pattern generators) with finite output.
#include <omp.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "errors.hpp"
#include "variant.hpp"

namespace {
// Small enough to run thousands of times a second, odd sizes so tails and partial tiles occur.
attn::Problem tiny_problem(bool causal) {
  attn::Problem p;
  p.B = 1, p.H = 2, p.Hkv = 1, p.Nq = 67, p.Nk = 67, p.D = 5, p.causal = causal;
  return p;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  omp_set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
  try {
    const auto variant = attn::make_variant(spec);
    for (bool causal : {false, true}) {
      const attn::Problem p = tiny_problem(causal);
      try {
        attn::check_problem(*variant, p);
      } catch (const attn::UserError&) {
        continue;  // the variant says plainly it cannot run this problem
      }
      if (variant->workspace_bytes(p, attn::Isa::scalar) > (64u << 20)) continue;
      std::vector<float> q(p.B * p.H * p.Nq * p.D), kv(p.B * p.Hkv * p.Nk * p.D);
      for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.37f * i);
      for (std::size_t i = 0; i < kv.size(); ++i) kv[i] = std::cos(0.21f * i);
      std::vector<float> out(q.size());
      variant->visible_pairs(p);
      variant->forward(p, {q.data(), kv.data(), kv.data()}, out.data(), attn::best_isa());
      for (float x : out)
        if (!std::isfinite(x)) __builtin_trap();
    }
  } catch (const attn::UserError&) {
  }
  return 0;
}
