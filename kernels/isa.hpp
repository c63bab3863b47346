// Instruction sets the kernels are compiled for, and which of them this CPU runs.
#pragma once
#include <string>
#include <vector>

namespace attn {

// Ordered from narrowest to widest; `scalar` is the plain C++ path every CPU runs.
// avx512bf16 is AVX-512 plus the AVX512-BF16 (vdpbf16ps) and AVX512-VNNI (vpdpbusd) dot
// products (Cooper Lake, Sapphire Rapids, Zen 4/5): float32 kernels are the avx512 ones, the
// native bf16 and int8 kernels need it; naming avx512 or lower forces the emulated paths.
enum class Isa { scalar, sse2, avx2, avx512, avx512bf16 };

const char* isa_name(Isa isa);
// Parses "scalar|sse2|avx2|avx512|avx512bf16"; false on anything else.
bool parse_isa(const std::string& name, Isa& out);
bool cpu_supports(Isa isa);
// The AVX-512 dot-product extensions on their own (avx512bf16 needs both).
bool cpu_has_avx512_bf16();
bool cpu_has_avx512_vnni();
// Widest ISA this CPU supports.
Isa best_isa();
std::vector<Isa> supported_isas();

}  // namespace attn
