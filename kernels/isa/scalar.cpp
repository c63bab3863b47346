// The scalar build of every kernel (compiled with this ISA's flags only; see kernels/CMakeLists.txt).
#define ATTN_ARCH simd::scalar_arch
#define ATTN_ISA Isa::scalar
#define ATTN_TABLE_FN kernel_table_scalar
#include "instantiate.hpp"
