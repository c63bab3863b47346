// Helpers shared by the test suites: seeded inputs, errors, and running a variant on a problem.
#pragma once
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "isa.hpp"
#include "problem.hpp"
#include "variant.hpp"

namespace attn::test {

struct Inputs {
  Problem p;
  std::vector<float> q, k, v;
  std::vector<int> lens;
  Tensors tensors() const { return {q.data(), k.data(), v.data()}; }
};

// The ISA levels this CPU runs that have their own float32 build (and so their own emulated and
// decode entries): all but avx512bf16 and amx, which add only native bf16 and int8 prefill.
inline int float32_isa_tables() {
  int n = 0;
  for (Isa isa : supported_isas()) n += isa != Isa::avx512bf16 && isa != Isa::amx;
  return n;
}

inline Inputs make_inputs(int B, int H, int Hkv, int Nq, int Nk, int D, bool causal, unsigned seed) {
  Inputs in;
  in.p.B = B, in.p.H = H, in.p.Hkv = Hkv, in.p.Nq = Nq, in.p.Nk = Nk, in.p.D = D, in.p.causal = causal;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  in.q.resize(static_cast<std::size_t>(B) * H * Nq * D);
  in.k.resize(static_cast<std::size_t>(B) * Hkv * Nk * D);
  in.v.resize(in.k.size());
  for (auto* t : {&in.q, &in.k, &in.v})
    for (float& x : *t) x = normal(rng);
  return in;
}

inline std::vector<long> all_rows(const Problem& p) {
  std::vector<long> rows(p.Nq);
  for (long i = 0; i < p.Nq; ++i) rows[i] = i;
  return rows;
}

// max |out - ref| / max |ref| (max |out - ref| if the reference is all zeros).
inline double rel_err(const std::vector<float>& out, const std::vector<double>& ref) {
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double e = std::abs(out[i] - ref[i]);
    err = std::isnan(e) ? INFINITY : std::max(err, e);
    scale = std::max(scale, std::abs(ref[i]));
  }
  return scale > 0 ? err / scale : err;
}

inline std::vector<float> run(const Variant& v, const Inputs& in, Isa isa) {
  std::vector<float> out(static_cast<std::size_t>(in.p.B) * in.p.H * in.p.Nq * in.p.D, NAN);
  v.forward(in.p, in.tensors(), out.data(), isa);
  return out;
}

inline std::vector<double> reference(const Variant& v, const Inputs& in) {
  std::vector<double> ref(static_cast<std::size_t>(in.p.B) * in.p.H * in.p.Nq * in.p.D);
  v.reference(in.p, in.tensors(), all_rows(in.p), ref.data());
  return ref;
}

}  // namespace attn::test
