#include "isa.hpp"


namespace attn {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::sse2: return "sse2";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512bf16: return "avx512bf16";
  }
  return "?";
}

bool parse_isa(const std::string& name, Isa& out) {
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::avx512bf16})
    if (name == isa_name(isa)) return out = isa, true;
  return false;
}

// __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV),
// which a CPUID-only test does not.
bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::sse2: return __builtin_cpu_supports("sse2");
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
    case Isa::avx512bf16: return cpu_supports(Isa::avx512) && cpu_has_avx512_bf16() && cpu_has_avx512_vnni();
  }
  return false;
}

bool cpu_has_avx512_bf16() { return __builtin_cpu_supports("avx512bf16"); }
bool cpu_has_avx512_vnni() { return __builtin_cpu_supports("avx512vnni"); }

Isa best_isa() {
  for (Isa isa : {Isa::avx512bf16, Isa::avx512, Isa::avx2, Isa::sse2})
    if (cpu_supports(isa)) return isa;
  return Isa::scalar;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::avx512bf16, Isa::avx512, Isa::avx2, Isa::sse2, Isa::scalar})
    if (cpu_supports(isa)) out.push_back(isa);
  return out;
}

}  // namespace attn
