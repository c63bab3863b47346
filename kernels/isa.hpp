// Instruction sets the kernels are compiled for, and which of them this CPU runs.
#pragma once
#include <string>
#include <vector>

namespace attn {

// Ordered from narrowest to widest; `scalar` is the plain C++ path every CPU runs.
enum class Isa { scalar, sse2, avx2, avx512 };

const char* isa_name(Isa isa);
// Parses "scalar|sse2|avx2|avx512"; false on anything else.
bool parse_isa(const std::string& name, Isa& out);
bool cpu_supports(Isa isa);
// Widest ISA this CPU supports.
Isa best_isa();
std::vector<Isa> supported_isas();

}  // namespace attn
