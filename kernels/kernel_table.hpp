// The runtime dispatcher: one table of kernel entry points per ISA, each filled in by
// kernels/isa/<isa>.cpp, which is compiled with that ISA's flags.
#pragma once
#include <cstddef>

#include "isa.hpp"
#include "linear_attention_args.hpp"
#include "masked_attention_args.hpp"

namespace attn {

struct KernelTable {
  Isa isa;
  int vector_width;  // floats per vector
  void (*masked_attention)(const MaskedAttentionArgs&);
  std::size_t (*masked_attention_workspace)(const MaskedAttentionArgs&);
  // Runs `iterations` rounds of independent vector FMAs on this thread; returns the flops done.
  double (*fma_loop)(long iterations);
  void (*linear_attention)(const LinearAttentionArgs&);
  std::size_t (*linear_attention_workspace)(const LinearAttentionArgs&);
};

// The table for `isa`; throws UserError if the CPU lacks it.
const KernelTable& kernel_table(Isa isa);

}  // namespace attn
