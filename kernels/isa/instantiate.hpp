// Included by each kernels/isa/<isa>.cpp with ATTN_ARCH set to that ISA's arch type:
// the only place kernel templates are instantiated.
#include "../fma_loop.hpp"
#include "../read_loop.hpp"
#include "../kernel_table.hpp"
#include "../decode_attention.hpp"
#include "../flash_backward.hpp"
#include "../linear_attention.hpp"
#include "../linear_backward.hpp"
#include "../linformer_projection.hpp"
#include "../nystrom_landmarks.hpp"
#include "../synthesizer_attention.hpp"
#include "../masked_attention.hpp"
#include "../small_gemm.hpp"

namespace attn::kernels {
namespace {
void masked_attention_entry(const MaskedAttentionArgs& a) { masked_attention<ATTN_ARCH>(a); }
std::size_t masked_attention_workspace_entry(const Problem& p, int threads) {
  return masked_attention_workspace<ATTN_ARCH>(p, threads);
}
void decode_attention_entry(const MaskedAttentionArgs& a) { decode_attention<ATTN_ARCH>(a); }
std::size_t decode_attention_workspace_entry(const Problem& p, int threads) {
  return decode_attention_workspace<ATTN_ARCH>(p, threads);
}
void flash_backward_entry(const FlashBackwardArgs& a) { flash_backward<ATTN_ARCH>(a); }
std::size_t flash_backward_workspace_entry(const Problem& p, int threads) {
  return flash_backward_workspace<ATTN_ARCH>(p, threads);
}
std::string flash_tile() {
  using Blk = Blocking<simd::Vec<ATTN_ARCH>>;
  return std::to_string(Blk::R) + "x" + std::to_string(Blk::CQ) + "v";
}
void linear_attention_entry(const LinearAttentionArgs& a) { linear_attention<ATTN_ARCH>(a); }
std::size_t linear_attention_workspace_entry(const LinearAttentionArgs& a) {
  return linear_attention_workspace(a, static_cast<int>(simd::Vec<ATTN_ARCH>::size));
}
void linear_backward_entry(const LinearBackwardArgs& a) { linear_backward<ATTN_ARCH>(a); }
std::size_t linear_backward_workspace_entry(const LinearAttentionArgs& a) {
  return linear_backward_workspace(a, static_cast<int>(simd::Vec<ATTN_ARCH>::size));
}
void gemm_entry(int rows, int n, int kn, const float* a, long lda, const float* b, long ldb, float* c, long ldc) {
  gemm<simd::Vec<ATTN_ARCH>>(rows, n, kn, a, lda, b, ldb, c, ldc, false);
}

// The engine's micro-kernels at their production tile sizes, for the named lists.
using V = simd::Vec<ATTN_ARCH>;
using Blk = Blocking<V>;
constexpr int kQkC = (Blk::CQ * Blk::W > kTileK) ? kTileK / Blk::W : Blk::CQ;
void qk_entry(const float* q, int D, const float* kt, float* s) { qk_block<V, Blk::R, kQkC>(q, D, kt, s); }
void pv_entry(const float* p, int jb, int je, const float* v, int Dp, float* o, const float* alpha) {
  pv_block<V, Blk::R, Blk::CV>(p, jb, je, v, Dp, o, alpha);
}
void exp2_entry(const float* x, float* y, int n) {
  for (int i = 0; i < n; i += Blk::W) simd::vexp2_softmax(V::load_unaligned(x + i)).store_unaligned(y + i);
}
void softcap_entry(const float* x, float* y, int n, float cap) {
  const V vcap(cap), vinv(1.0f / cap);
  for (int i = 0; i < n; i += Blk::W) simd::vsoftcap(V::load_unaligned(x + i), vinv, vcap).store_unaligned(y + i);
}
void tn_entry(const float* a, int n, const float* b, int ld, float* c) { tn_block<V, Blk::R, Blk::CV>(a, n, b, ld, c, ld); }
void transpose_entry(const float* src, long ld_src, float* dst, long ld_dst) {
  V x[Blk::W];
  for (int i = 0; i < Blk::W; ++i) x[i] = V::load_unaligned(src + i * ld_src);
  simd::transpose_square(x);
  for (int i = 0; i < Blk::W; ++i) x[i].store_aligned(dst + i * ld_dst);
}

UkernelLists ukernel_lists() {
  const std::string isa = isa_name(ATTN_ISA), rc = std::to_string(Blk::R) + "x";
  const std::string w = std::to_string(Blk::W);
  UkernelLists u;
  u.qk.push_back({"f32-qk-" + rc + std::to_string(kQkC) + "v-" + isa, ATTN_ISA, Blk::R, kQkC, Blk::W, &qk_entry});
  u.pv.push_back({"f32-pv-" + rc + std::to_string(Blk::CV) + "v-" + isa, ATTN_ISA, Blk::R, Blk::CV, Blk::W, &pv_entry});
  u.exp2.push_back({"f32-exp2-softmax-" + isa, ATTN_ISA, Blk::W, &exp2_entry});
  u.softcap.push_back({"f32-softcap-" + isa, ATTN_ISA, Blk::W, &softcap_entry});
  u.transpose.push_back({"f32-transpose-" + w + "x" + w + "-" + isa, ATTN_ISA, Blk::W, &transpose_entry});
  u.tn.push_back({"f32-tn-" + rc + std::to_string(Blk::CV) + "v-" + isa, ATTN_ISA, Blk::R, Blk::CV, Blk::W, &tn_entry});
  return u;
}
}  // namespace

KernelTable ATTN_TABLE_FN() {
  return KernelTable{ATTN_ISA, static_cast<int>(simd::Vec<ATTN_ARCH>::size), flash_tile(), &masked_attention_entry,
                     &masked_attention_workspace_entry, &decode_attention_entry, &decode_attention_workspace_entry,
                     &flash_backward_entry, &flash_backward_workspace_entry,
                     &fma_loop<ATTN_ARCH>, &read_loop<ATTN_ARCH>,
                     &linear_attention_entry, &linear_attention_workspace_entry,
                     &linear_backward_entry, &linear_backward_workspace_entry,
                     &linformer_projection<ATTN_ARCH>, &segment_means<ATTN_ARCH>, &landmark_mix<ATTN_ARCH>,
                     &synthesizer_attention<ATTN_ARCH>, &gemm_entry, ukernel_lists()};
}
}  // namespace attn::kernels
