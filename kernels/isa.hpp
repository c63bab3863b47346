// Instruction sets the kernels are compiled for, and which of them this CPU runs.
#pragma once
#include <string>
#include <vector>

namespace attn {

// Ordered from narrowest to widest; `scalar` is the plain C++ path every CPU runs.
enum class Isa { scalar, sse2, avx2, avx512 };

const char* isa_name(Isa isa);
// Parses "scalar|sse2|avx2|avx512"; throws attn::UserError on anything else.
Isa parse_isa(const std::string& name);
bool cpu_supports(Isa isa);
// Widest ISA this CPU supports.
Isa best_isa();
// "auto" -> best_isa(); otherwise the named ISA, which must be supported by this CPU.
Isa resolve_isa(const std::string& name);
std::vector<Isa> supported_isas();

}  // namespace attn
