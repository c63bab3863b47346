// OpenBLAS for the dense_blas baseline, loaded on first use.
//
// Debian 12's OpenBLAS (0.3.21) does not recognise CPUs released after it (Sapphire and
// Emerald Rapids among them) and falls back to its SSE3 "Prescott" kernels, about 5x slower
// than its AVX-512 ones, which would make dense_blas a straw man. OpenBLAS chooses its kernels
// once, from OPENBLAS_CORETYPE, when it is loaded; loading it ourselves lets us set that first.
#pragma once
#include <cblas.h>

namespace attn {

struct BlasLibrary {
  decltype(&cblas_sgemm) sgemm;
  decltype(&openblas_set_num_threads) set_num_threads;
  decltype(&openblas_get_corename) get_corename;
};

// Loads OpenBLAS once. Unless the user set OPENBLAS_CORETYPE, first sets it to the kernel
// family of this CPU's widest ISA (SkylakeX for AVX-512, Haswell for AVX2). Throws UserError
// if the library cannot be loaded. (blas_description(), the machine record's line, is public:
// attnbench/attnbench.hpp.)
const BlasLibrary& blas_library();

}  // namespace attn
