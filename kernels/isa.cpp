#include "isa.hpp"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>


namespace attn {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::sse2: return "sse2";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512bf16: return "avx512bf16";
    case Isa::amx: return "amx";
  }
  return "?";
}

bool parse_isa(const std::string& name, Isa& out) {
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::avx512bf16, Isa::amx})
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
    case Isa::amx: return cpu_supports(Isa::avx512bf16) && cpu_has_amx();
  }
  return false;
}

bool cpu_has_avx512_bf16() { return __builtin_cpu_supports("avx512bf16"); }
bool cpu_has_avx512_vnni() { return __builtin_cpu_supports("avx512vnni"); }

namespace {
bool detect_amx() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  constexpr unsigned kAmxBf16 = 1u << 22, kAmxTile = 1u << 24, kAmxInt8 = 1u << 25;
  if ((d & (kAmxBf16 | kAmxTile | kAmxInt8)) != (kAmxBf16 | kAmxTile | kAmxInt8)) return false;
  // XGETBV needs OSXSAVE (CPUID.1:ECX bit 27); XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA).
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return false;
  // Linux enables the 8 KiB tile data per process on request; without it the first tile
  // instruction faults.
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}
}  // namespace

// Once per process (a function-local static is initialised thread-safely).
bool cpu_has_amx() {
  static const bool amx = detect_amx();
  return amx;
}

Isa best_isa() {
  for (Isa isa : {Isa::amx, Isa::avx512bf16, Isa::avx512, Isa::avx2, Isa::sse2})
    if (cpu_supports(isa)) return isa;
  return Isa::scalar;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::amx, Isa::avx512bf16, Isa::avx512, Isa::avx2, Isa::sse2, Isa::scalar})
    if (cpu_supports(isa)) out.push_back(isa);
  return out;
}

}  // namespace attn
