// The avx2 build of every kernel (compiled with this ISA's flags only; see kernels/CMakeLists.txt).
#define ATTN_ARCH xsimd::fma3<xsimd::avx2>
#define ATTN_ISA Isa::avx2
#define ATTN_TABLE_FN kernel_table_avx2
#include "instantiate.hpp"
