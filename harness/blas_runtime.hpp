// Making the dense_blas baseline use the BLAS kernels this CPU deserves.
//
// Debian 12's OpenBLAS (0.3.21) does not recognise CPUs released after it (Sapphire and
// Emerald Rapids among them) and falls back to its SSE3 "Prescott" kernels, about 5x slower
// than its AVX-512 ones: dense_blas would be a straw man. OpenBLAS reads OPENBLAS_CORETYPE
// only when it is loaded, so the fix is to re-run the process with it set.
#pragma once
#include <string>

namespace attn {

// If OpenBLAS fell back to its generic kernels on a CPU with AVX2 or AVX-512 and the user has
// not set OPENBLAS_CORETYPE, re-executes this program with the matching core type
// (SkylakeX or Haswell). Returns normally otherwise (or if the re-exec fails).
void reexec_with_matching_blas_kernels(char** argv);

// The kernel family OpenBLAS is using, e.g. "SkylakeX".
std::string blas_core_name();

}  // namespace attn
