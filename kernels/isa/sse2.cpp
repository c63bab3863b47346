// The sse2 build of every kernel (compiled with this ISA's flags only; see kernels/CMakeLists.txt).
#define ATTN_ARCH xsimd::sse2
#define ATTN_ISA Isa::sse2
#define ATTN_TABLE_FN kernel_table_sse2
#include "instantiate.hpp"
