// The avx512bf16 build: the avx512 table plus the kernels that need AVX512-BF16 / AVX512-VNNI
// (the dot-product probes and the native bf16 engine). Compiled with the avx512 flags; the
// functions that issue the extensions carry ATTN_TARGET_BF16 (kernels/native/target.hpp says why).
#include "../kernel_table.hpp"
#include "../native/bf16_products.hpp"
#include "../native/dot_loop.hpp"
#include "../native/int8_decode_qk.hpp"
#include "../native/int8_products.hpp"

namespace attn::kernels {
KernelTable kernel_table_avx512();

KernelTable kernel_table_avx512bf16() {
  KernelTable t = kernel_table_avx512();
  t.isa = Isa::avx512bf16;
  t.bf16_dot_loop = &bf16_dot_loop;
  t.int8_dot_loop = &int8_dot_loop;
  t.masked_attention_bf16 = &masked_attention_bf16<xsimd::avx512bw>;
  t.masked_attention_bf16_workspace = &masked_attention_bf16_workspace<xsimd::avx512bw>;
  t.masked_attention_int8 = &masked_attention_int8<xsimd::avx512bw>;
  t.masked_attention_int8_workspace = &masked_attention_int8_workspace<xsimd::avx512bw>;
  t.decode_attention_int8 = &decode_attention_int8_vnni<xsimd::avx512bw>;
  t.decode_attention_int8_workspace = &decode_attention_workspace<xsimd::avx512bw, VnniInt8KeyQk>;
  t.ukernels.int8_pack = {
      {"int8-pack-64-avx512bf16", Isa::avx512bf16, &int8::key_means, &int8::pack_key_tile, &int8::pack_query_tile}};
  return t;
}
}  // namespace attn::kernels
