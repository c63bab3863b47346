#include "case_inputs.hpp"

#include <random>

#include "case_grid.hpp"
#include "errors.hpp"
#include "list_parsing.hpp"
#include "local_inputs.hpp"

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

void check_input_kind(const std::string& kind) {
  if (kind != "gaussian" && kind != "local")
    throw UserError("--inputs: unknown input generator '" + kind + "' (known: gaussian, local)");
}

void generate_inputs(const std::string& kind, std::uint64_t seed, CaseInputs& in) {
  check_input_kind(kind);
  const Problem& p = in.problem;
  in.q.resize(static_cast<std::size_t>(p.B) * p.H * p.Nq * p.D);
  in.k.resize(static_cast<std::size_t>(p.B) * p.Hkv * p.Nk * p.D);
  in.v.resize(in.k.size());
  if (kind == "local") {
    fill_local_inputs(p, seed, in.q.data(), in.k.data(), in.v.data());
    return;
  }
  // Chunks of 2^20 values, each from its own seed: the same values on any thread count, drawn in
  // parallel (a decode case's KV cache holds billions of them).
  constexpr std::size_t kChunk = std::size_t(1) << 20;
  LargeVector<float>* tensors[] = {&in.q, &in.k, &in.v};
  for (std::uint64_t t = 0; t < 3; ++t) {
    LargeVector<float>& x = *tensors[t];
    const long chunks = static_cast<long>((x.size() + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static)
    for (long c = 0; c < chunks; ++c) {
      std::mt19937_64 rng(seed ^ (0x9E3779B97F4A7C15ULL * (t * 0x100000000ULL + static_cast<std::uint64_t>(c) + 1)));
      std::normal_distribution<float> normal(0.0f, 1.0f);
      const std::size_t end = std::min(x.size(), (c + 1) * kChunk);
      for (std::size_t i = c * kChunk; i < end; ++i) x[i] = normal(rng);
    }
  }
}

namespace {
const char kUniform[] = "uniform:";

std::string join(const std::vector<int>& values) {
  std::string s;
  for (int v : values) s += (s.empty() ? "" : ",") + std::to_string(v);
  return s;
}
}  // namespace

std::string canonical_lens(const std::string& spec) {
  const std::string hint = " (expected uniform:MIN or a list of lengths, one per batch item)";
  if (spec.rfind(kUniform, 0) == 0) {
    const std::string min = spec.substr(sizeof kUniform - 1);
    if (min.empty()) throw UserError("--lens '" + spec + "': missing MIN" + hint);
    return kUniform + std::to_string(parse_int_list(min, "--lens uniform:MIN", 1, 1 << 24).at(0));
  }
  if (spec.find(':') != std::string::npos) throw UserError("--lens '" + spec + "' is not understood" + hint);
  return join(parse_int_list(spec, "--lens", 1, 1 << 24));
}

std::vector<int> case_lengths(const std::string& spec, const Problem& p) {
  const int n = p.Nk;
  if (p.Nq != p.Nk) throw UserError("--lens needs Nq == Nk");
  if (spec.rfind(kUniform, 0) == 0) {
    const int min = std::stoi(spec.substr(sizeof kUniform - 1));
    if (min > n)
      throw UserError("--lens " + spec + ": MIN is above the sequence length N=" + std::to_string(n));
    std::mt19937_64 rng(fnv1a64("lens|" + spec + "|" + std::to_string(p.B) + "," + std::to_string(n)));
    // By hand rather than uniform_int_distribution, whose output differs between C++ libraries.
    std::vector<int> lens(p.B);
    for (int& l : lens) l = min + static_cast<int>(rng() % static_cast<std::uint64_t>(n - min + 1));
    return lens;
  }
  const std::vector<int> lens = parse_int_list(spec, "--lens", 1, 1 << 24);
  if (static_cast<int>(lens.size()) != p.B)
    throw UserError("--lens " + spec + " has " + std::to_string(lens.size()) + " lengths, batch size is " +
                    std::to_string(p.B));
  for (int l : lens)
    if (l > n) throw UserError("--lens " + spec + ": length " + std::to_string(l) + " is above N=" + std::to_string(n));
  return lens;
}

}  // namespace attn
