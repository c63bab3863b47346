#include "isa_choice.hpp"

#include "errors.hpp"

namespace attn {

Isa resolve_isa(const std::string& name) {
  if (name == "auto") return best_isa();
  Isa isa;
  if (!parse_isa(name, isa)) throw UserError("unknown ISA '" + name + "' (expected auto, amx, avx512bf16, avx512, avx2, sse2 or scalar)");
  if (!cpu_supports(isa))
    throw UserError(std::string("ISA '") + name + "' is not supported by this CPU (best available: " +
                    isa_name(best_isa()) + ")");
  return isa;
}

}  // namespace attn
