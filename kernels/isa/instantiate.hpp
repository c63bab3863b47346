// Included by each kernels/isa/<isa>.cpp with ATTN_ARCH set to that ISA's arch type:
// the only place kernel templates are instantiated.
#include "../fma_loop.hpp"
#include "../kernel_table.hpp"
#include "../linear_attention.hpp"
#include "../masked_attention.hpp"

namespace attn::kernels {
namespace {
void masked_attention_entry(const MaskedAttentionArgs& a) { masked_attention<ATTN_ARCH>(a); }
std::size_t masked_attention_workspace_entry(const Problem& p, int threads) {
  return masked_attention_workspace<ATTN_ARCH>(p, threads);
}
std::string flash_tile() {
  using Blk = Blocking<simd::Vec<ATTN_ARCH>>;
  return std::to_string(Blk::R) + "x" + std::to_string(Blk::CQ) + "v";
}
void linear_attention_entry(const LinearAttentionArgs& a) { linear_attention<ATTN_ARCH>(a); }
std::size_t linear_attention_workspace_entry(const LinearAttentionArgs& a) {
  return linear_attention_workspace(a, static_cast<int>(simd::Vec<ATTN_ARCH>::size));
}
}  // namespace

KernelTable ATTN_TABLE_FN() {
  return KernelTable{ATTN_ISA, static_cast<int>(simd::Vec<ATTN_ARCH>::size), flash_tile(), &masked_attention_entry,
                     &masked_attention_workspace_entry, &fma_loop<ATTN_ARCH>,
                     &linear_attention_entry, &linear_attention_workspace_entry};
}
}  // namespace attn::kernels
