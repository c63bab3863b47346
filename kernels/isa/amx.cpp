// The amx build: the avx512bf16 table (so float32 is avx512's, decode and f16 as there) with
// bf16 and int8 prefill on AMX tiles, a bf16 cache's few-rows decode products on AMX, and the
// AMX peak probes. Compiled with the avx512 flags;
// the functions that issue AMX or the dot-product extensions carry target attributes
// (kernels/native/amx_tiles.hpp, target.hpp), so nothing here runs on a CPU without them.
#include "../kernel_table.hpp"
#include "../native/amx_bf16_products.hpp"
#include "../native/amx_decode.hpp"
#include "../native/amx_int8_products.hpp"
#include "../native/amx_loop.hpp"

namespace attn::kernels {
KernelTable kernel_table_avx512bf16();

KernelTable kernel_table_amx() {
  KernelTable t = kernel_table_avx512bf16();
  t.isa = Isa::amx;
  t.bf16_dot_loop = &amx_bf16_loop;
  t.int8_dot_loop = &amx_int8_loop;
  t.masked_attention_bf16 = &masked_attention_amx_bf16<xsimd::avx512bw>;
  t.masked_attention_bf16_workspace = &masked_attention_amx_bf16_workspace<xsimd::avx512bw>;
  t.masked_attention_int8 = &masked_attention_amx_int8<xsimd::avx512bw>;
  t.masked_attention_int8_workspace = &masked_attention_amx_int8_workspace<xsimd::avx512bw>;
  t.decode_attention_bf16 = &decode_attention_bf16_amx<xsimd::avx512bw>;
  t.decode_attention_bf16_workspace =
      &decode_attention_workspace<xsimd::avx512bw, AmxBf16KeyQk, AmxBf16ValuePv>;
  return t;
}
}  // namespace attn::kernels
