// The user's --isa / isa= words, resolved against this CPU (kernels know no user input).
#pragma once
#include <string>

#include "isa.hpp"

namespace attn {

// "auto" -> best_isa(); otherwise the named ISA, which must be supported by this CPU.
// Throws UserError with one line otherwise.
Isa resolve_isa(const std::string& name);

}  // namespace attn
