// Instruction sets the kernels are compiled for, and which of them this CPU runs.
#pragma once
#include <string>
#include <vector>

namespace attn {

// Ordered from narrowest to widest; `scalar` is the plain C++ path every CPU runs.
// avx512bf16 is AVX-512 plus the AVX512-BF16 (vdpbf16ps) and AVX512-VNNI (vpdpbusd) dot
// products (Cooper Lake, Sapphire Rapids, Zen 4/5): float32 kernels are the avx512 ones, the
// native bf16 and int8 kernels need it; naming avx512 or lower forces the emulated paths.
// amx is avx512bf16 plus AMX tiles (AMX-TILE, AMX-BF16, AMX-INT8: Sapphire Rapids and later),
// with the OS granting this process the tile state: bf16 and int8 prefill run tdpbf16ps /
// tdpbssd there; everything else is avx512bf16's (so float32 is avx512's).
enum class Isa { scalar, sse2, avx2, avx512, avx512bf16, amx };

const char* isa_name(Isa isa);
// Parses "scalar|sse2|avx2|avx512|avx512bf16|amx"; false on anything else.
bool parse_isa(const std::string& name, Isa& out);
bool cpu_supports(Isa isa);
// The AVX-512 dot-product extensions on their own (avx512bf16 needs both).
bool cpu_has_avx512_bf16();
bool cpu_has_avx512_vnni();
// AMX-TILE, AMX-BF16 and AMX-INT8 in CPUID, the tile state enabled in XCR0, and the kernel's
// permission to use it (arch_prctl ARCH_REQ_XCOMP_PERM), requested once per process.
bool cpu_has_amx();
// Widest ISA this CPU supports.
Isa best_isa();
std::vector<Isa> supported_isas();

}  // namespace attn
