// The avx512 build of every kernel (compiled with this ISA's flags only; see kernels/CMakeLists.txt).
#define ATTN_ARCH xsimd::avx512bw
#define ATTN_ISA Isa::avx512
#define ATTN_TABLE_FN kernel_table_avx512
#include "instantiate.hpp"
