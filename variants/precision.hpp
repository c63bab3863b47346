// Storage precisions (SPEC "Cases: shapes, precision, direction"), emulated through float32:
// tensors hold the stored precision's values as float32, so the one float32 engine computes
// exactly what bf16 products with float32 accumulation (or int8 products, exact in float32 up
// to D = 256) compute. What a model holds in the precision (activations, a KV cache) is
// converted before timing (store_inputs); what the algorithm must do per call (int8: smoothing
// and quantising Q and K) is the plan's run().
#pragma once
#include <vector>

#include "problem.hpp"

namespace attn {

// Round to nearest even; finite inputs (the tool refuses non-finite ones).
float round_to_bf16(float x);
float round_to_f16(float x);

// Rows per quantisation block of Q and K (int8): one scale per block of rows, per head.
constexpr int kInt8Block = 64;

// Q, K, V in the problem's storage precision, as float32 values.
//  f32: the given tensors (no copy); bf16 / f16: every element rounded; int8: V quantised per
//  channel (one scale per kv head and channel, max|v| / 127), Q and K as given (quantised per
//  call). The given tensors must outlive the result.
struct StoredInputs {
  std::vector<float> q, k, v;  // the copies that differ from the given tensors
  Tensors view;
  Tensors tensors() const { return view; }
};
StoredInputs store_inputs(const Problem& p, const Tensors& t);

// int8 per-call work (SageAttention): K smoothed (its per-channel mean over the valid keys of
// each kv head subtracted; softmax is unchanged by it), then Q and K quantised to int8 with
// one scale (max|x| / 127) per block of kInt8Block rows per head; writes round(x / s) * s.
void quantize_qk_int8(const Problem& p, const Tensors& t, float* q_out, float* k_out);

}  // namespace attn
