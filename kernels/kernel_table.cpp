#include "kernel_table.hpp"

#include <stdexcept>
#include <string>

namespace attn {
namespace kernels {
KernelTable kernel_table_amx();
KernelTable kernel_table_avx512bf16();
KernelTable kernel_table_avx512();
KernelTable kernel_table_avx2();
KernelTable kernel_table_sse2();
KernelTable kernel_table_scalar();
}  // namespace kernels

const KernelTable& kernel_table(Isa isa) {
  if (!cpu_supports(isa)) throw std::invalid_argument(std::string("this CPU cannot run ") + isa_name(isa) + " kernels");
  static const KernelTable amx = kernels::kernel_table_amx();
  static const KernelTable avx512bf16 = kernels::kernel_table_avx512bf16();
  static const KernelTable avx512 = kernels::kernel_table_avx512();
  static const KernelTable avx2 = kernels::kernel_table_avx2();
  static const KernelTable sse2 = kernels::kernel_table_sse2();
  static const KernelTable scalar = kernels::kernel_table_scalar();
  switch (isa) {
    case Isa::amx: return amx;
    case Isa::avx512bf16: return avx512bf16;
    case Isa::avx512: return avx512;
    case Isa::avx2: return avx2;
    case Isa::sse2: return sse2;
    case Isa::scalar: break;
  }
  return scalar;
}

}  // namespace attn
