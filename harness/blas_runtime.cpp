#include "blas_runtime.hpp"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "isa.hpp"

namespace attn {

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

void reexec_with_matching_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice stands
  const std::string core = blas_core_name();
  if (core != "Prescott" && core != "Core2" && core != "Nehalem") return;
  const char* wanted = cpu_supports(Isa::avx512) ? "SkylakeX" : cpu_supports(Isa::avx2) ? "Haswell" : nullptr;
  if (!wanted) return;
  setenv("OPENBLAS_CORETYPE", wanted, 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with the generic kernels
}

}  // namespace attn
