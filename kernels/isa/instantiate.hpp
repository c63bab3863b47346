// Included by each kernels/isa/<isa>.cpp with ATTN_ARCH set to that ISA's arch type:
// the only place kernel templates are instantiated.
#include "../fma_loop.hpp"
#include "../kernel_table.hpp"
#include "../linear_attention.hpp"
#include "../masked_attention.hpp"

namespace attn::kernels {
namespace {
void masked_attention_entry(const MaskedAttentionArgs& a) { masked_attention<ATTN_ARCH>(a); }
std::size_t masked_attention_workspace_entry(const MaskedAttentionArgs& a) {
  return masked_attention_workspace(a, static_cast<int>(simd::Vec<ATTN_ARCH>::size));
}
void linear_attention_entry(const LinearAttentionArgs& a) { linear_attention<ATTN_ARCH>(a); }
std::size_t linear_attention_workspace_entry(const LinearAttentionArgs& a) {
  return linear_attention_workspace(a, static_cast<int>(simd::Vec<ATTN_ARCH>::size));
}
}  // namespace

KernelTable ATTN_TABLE_FN() {
  return KernelTable{ATTN_ISA, static_cast<int>(simd::Vec<ATTN_ARCH>::size), &masked_attention_entry,
                     &masked_attention_workspace_entry, &fma_loop<ATTN_ARCH>,
                     &linear_attention_entry, &linear_attention_workspace_entry};
}
}  // namespace attn::kernels
