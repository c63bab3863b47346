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
  // Each table is built on first use of its own ISA only: building one runs code compiled for that
  // ISA (the compiler may copy the table with its widest vectors), so a CPU without AVX-512 must
  // never build the AVX-512 tables.
  switch (isa) {
    case Isa::amx: {
      static const KernelTable t = kernels::kernel_table_amx();
      return t;
    }
    case Isa::avx512bf16: {
      static const KernelTable t = kernels::kernel_table_avx512bf16();
      return t;
    }
    case Isa::avx512: {
      static const KernelTable t = kernels::kernel_table_avx512();
      return t;
    }
    case Isa::avx2: {
      static const KernelTable t = kernels::kernel_table_avx2();
      return t;
    }
    case Isa::sse2: {
      static const KernelTable t = kernels::kernel_table_sse2();
      return t;
    }
    case Isa::scalar: break;
  }
  static const KernelTable scalar = kernels::kernel_table_scalar();
  return scalar;
}

}  // namespace attn
