// The kernels one ISA build provides: one table of entry points per ISA, each filled in by
// kernels/isa/<isa>.cpp, which is compiled with that ISA's flags. Callers choose among them
// through the implementation lists (impl_list.hpp), not by indexing this table directly.
#pragma once
#include <cstddef>
#include <string>

#include "flash_backward_args.hpp"
#include "isa.hpp"
#include "linear_attention_args.hpp"
#include "lra_args.hpp"
#include "masked_attention_args.hpp"
#include "ukernels.hpp"

namespace attn {

struct KernelTable {
  Isa isa;
  int vector_width;  // floats per vector
  // Micro-kernel tile of the flash engine, e.g. "6x4v": R query rows x C vectors of keys.
  std::string flash_tile;
  void (*masked_attention)(const MaskedAttentionArgs&);
  std::size_t (*masked_attention_workspace)(const Problem&, int threads);
  // The same contract for few query rows (kernels/decode_attention.hpp).
  void (*decode_attention)(const MaskedAttentionArgs&);
  std::size_t (*decode_attention_workspace)(const Problem&, int threads);
  // The FlashAttention-2 backward (kernels/flash_backward.hpp), same R x C register blocking.
  void (*flash_backward)(const FlashBackwardArgs&);
  std::size_t (*flash_backward_workspace)(const Problem&, int threads);
  // Runs `iterations` rounds of independent vector FMAs on this thread; returns the flops done.
  double (*fma_loop)(long iterations);
  // Sums n floats (a multiple of 64; p 64-byte aligned): the read-bandwidth probe.
  float (*read_loop)(const float* p, long n);
  void (*linear_attention)(const LinearAttentionArgs&);
  std::size_t (*linear_attention_workspace)(const LinearAttentionArgs&);
  // Non-causal linear attention's backward, elu1 and relu maps (kernels/linear_backward.hpp).
  void (*linear_backward)(const LinearBackwardArgs&);
  std::size_t (*linear_backward_workspace)(const LinearAttentionArgs&);
  // The LRA low-rank variants' kernels (kernels/linformer_projection.hpp, nystrom_landmarks.hpp,
  // synthesizer_attention.hpp); their scratch sizes are in lra_args.hpp.
  void (*linformer_projection)(const ProjectionArgs&);
  void (*segment_means)(const SegmentMeansArgs&);
  void (*landmark_mix)(const LandmarkMixArgs&);
  void (*synthesizer_attention)(const SynthesizerArgs&);
  // C[rows][n] = A[rows][kn] B[kn][n], row-major (kernels/small_gemm.hpp); n a multiple of
  // vector_width. Reformer's LSH projections are built from it.
  void (*gemm)(int rows, int n, int kn, const float* a, long lda, const float* b, long ldb, float* c, long ldc);
  // This ISA's entries of the micro-kernel lists.
  UkernelLists ukernels;
  // avx512bf16 and amx only (null below): the vdpbf16ps / vpdpbusd probes (amx: tdpbf16ps /
  // tdpbusd; flops-equivalent done, 2 per multiply-add) and the native bf16 and int8 prefill
  // engines (kernels/native/).
  double (*bf16_dot_loop)(long iterations) = nullptr;
  double (*int8_dot_loop)(long iterations) = nullptr;
  void (*masked_attention_bf16)(const MaskedAttentionArgs&) = nullptr;
  std::size_t (*masked_attention_bf16_workspace)(const Problem&, int threads) = nullptr;
  // The native int8 prefill engine (kernels/native/int8_products.hpp): quantises Q and K itself.
  void (*masked_attention_int8)(const MaskedAttentionArgs&) = nullptr;
  std::size_t (*masked_attention_int8_workspace)(const Problem&, int threads) = nullptr;
  // Decode on an int8 KV cache with a vpdpbusd Q.K^T (kernels/native/int8_decode_qk.hpp): every
  // task of few rows; quantises Q itself.
  void (*decode_attention_int8)(const MaskedAttentionArgs&) = nullptr;
  std::size_t (*decode_attention_int8_workspace)(const Problem&, int threads) = nullptr;
  // amx only: decode on a bf16 KV cache with Q.K^T and P.V on AMX tiles, every task of few
  // rows (kernels/native/amx_decode.hpp).
  void (*decode_attention_bf16)(const MaskedAttentionArgs&) = nullptr;
  std::size_t (*decode_attention_bf16_workspace)(const Problem&, int threads) = nullptr;
};

// The table for `isa`; throws std::invalid_argument if the CPU lacks it (callers check
// cpu_supports first: the implementation lists do).
const KernelTable& kernel_table(Isa isa);

}  // namespace attn
