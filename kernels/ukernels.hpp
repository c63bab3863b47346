// Named micro-kernels, XNNPACK style: dtype-op-tile-isa, one list per operation, every entry
// filled in by the ISA build that compiles it (kernels/isa/instantiate.hpp) and unit-tested on
// every ISA this CPU runs against a float64 reference (tests/test_ukernels.cpp). They are the
// pieces the flash engine (masked_attention.hpp) is built from.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "isa.hpp"

namespace attn {

// S[r][c] = sum_d Q[r][d] Kt[d][c] for R rows and C vectors of W keys; Kt is [D][kTileK]
// (64-byte aligned), S has row stride kTileK (aligned).
struct QkUkernel {
  std::string name;  // e.g. "f32-qk-6x4v-avx512"
  Isa isa;
  int R, C, W;
  void (*fn)(const float* q, int D, const float* kt, float* s);
};

// O[r][c] = alpha[r] O[r][c] + sum_{jb <= j < je} P[r][j] V[j][c] for R rows and C vectors of
// W head dims; P has row stride kTileK, V row stride Dp, O row stride Dp (aligned); alpha is one
// broadcast vector per row or null (no rescale).
struct PvUkernel {
  std::string name;  // e.g. "f32-pv-6x4v-avx512"
  Isa isa;
  int R, C, W;
  void (*fn)(const float* p, int jb, int je, const float* v, int Dp, float* o, const float* alpha);
};

// y = 2^x for n floats (n a multiple of W), as the online softmax computes it: exactly 0 at
// or below -125 (never subnormal) and for -inf.
struct Exp2Ukernel {
  std::string name;  // e.g. "f32-exp2-softmax-avx512"
  Isa isa;
  int W;
  void (*fn)(const float* x, float* y, int n);
};

// y = cap tanh(x / cap) for n floats (n a multiple of W), cap > 0: the softcap score modifier's
// two formulas, chosen per vector (simd::vsoftcap: softcap_inside's polynomial when every lane
// lies within the cap, else softcap_anywhere's rational; the engines choose per row of a key
// tile). No exp, no division. With cap = 1 a vector past the cap is simd::vtanh itself.
struct SoftcapUkernel {
  std::string name;  // e.g. "f32-softcap-avx512"
  Isa isa;
  int W;
  void (*fn)(const float* x, float* y, int n, float cap);
};

// dst[j][i] = src[i][j] for a W x W block (row strides ld_src, ld_dst; dst aligned).
struct TransposeUkernel {
  std::string name;  // e.g. "f32-transpose-16x16-avx512"
  Isa isa;
  int W;
  void (*fn)(const float* src, long ld_src, float* dst, long ld_dst);
};

// C[r][c] += sum_{i < n} A[i][r] B[i][c] for R rows and C vectors of W: A^T B with A read in
// place (row stride kTileK), the backward's dV += P^T dO and dK += dS^T Q. B and C have row
// stride ld (C aligned).
struct TnUkernel {
  std::string name;  // e.g. "f32-tn-6x4v-avx512"
  Isa isa;
  int R, C, W;
  void (*fn)(const float* a, int n, const float* b, int ld, float* c);
};

// The int8 path's per-call quantisation (kernels/native/int8_pack.hpp), SPEC "int8": the
// channel means of n keys (stride D); one key tile (kn <= 64 keys minus the means) into
// [D4][64] words of 4 signed codes, 64 column sums and 64 copies of s_k (rows: 64 * 4 * D4
// bytes of scratch; dst 64-byte aligned); one query tile (n <= 64 rows) into rows of D4 words
// of codes + 128 and s_q. D4 >= ceil(D / 4) words per row (the AMX path pads to 16).
struct Int8PackUkernel {
  std::string name;  // e.g. "int8-pack-64-avx512bf16"
  Isa isa;
  void (*means)(const float* k, long n, int D, float* mean);
  void (*keys)(const float* k, const float* mean, int kn, int D, int D4, int8_t* rows, uint32_t* dst);
  void (*queries)(const float* q, int n, int D, int D4, uint32_t* dst);
};

struct UkernelLists {
  std::vector<QkUkernel> qk;
  std::vector<PvUkernel> pv;
  std::vector<Exp2Ukernel> exp2;
  std::vector<SoftcapUkernel> softcap;
  std::vector<TransposeUkernel> transpose;
  std::vector<TnUkernel> tn;
  std::vector<Int8PackUkernel> int8_pack;  // the avx512bf16 table's (shared by amx)
};

// Every micro-kernel of every ISA this CPU runs, widest ISA first.
const UkernelLists& ukernels();

}  // namespace attn
