// Storage precisions (SPEC "Cases: shapes, precision, direction"), emulated through float32:
// tensors hold the stored precision's values as float32, so the one float32 engine computes
// exactly what bf16 products with float32 accumulation (or int8 products, exact in float32 up
// to D = 256) compute. What a model holds in the precision (activations, a KV cache) is
// converted before timing (store_inputs); what the algorithm must do per call (int8: smoothing
// and quantising Q and K) is the plan's run().
#pragma once
#include <memory>
#include <vector>

#include "large_pages.hpp"
#include "problem.hpp"

namespace attn {

// Round to nearest even; finite inputs (the tool refuses non-finite ones).
float round_to_bf16(float x);
float round_to_f16(float x);

// Rows per quantisation block of Q and K (int8): one scale per block of rows, per head (the
// decode path's key tile, kernels/kv_cache.hpp).
constexpr int kInt8Rows = 64;

struct KvCacheStore;  // variants/kv_cache_store.hpp

// Q, K, V in the problem's storage precision, as float32 values.
//  f32: the given tensors (no copy); bf16 / f16: every element rounded; int8: V quantised per
//  channel (one scale per kv head and channel, max|v| / 127), Q and K as given (quantised per
//  call). The given tensors must outlive the result.
//  A decode problem in a narrow dtype (reads_kv_cache, kernels/kv_cache.hpp) also gets K and V
//  in that dtype, as a model's KV cache holds them (int8: K smoothed and quantised here), which
//  the decode path reads instead of the float32 values.
struct StoredInputs {
  LargeVector<float> q, k, v;  // the copies that differ from the given tensors
  Tensors view;
  std::shared_ptr<const KvCacheStore> cache;  // or null
  Tensors tensors() const;
};
StoredInputs store_inputs(const Problem& p, const Tensors& t);
// Bytes store_inputs allocates for p (its copies and the narrow cache).
double stored_bytes(const Problem& p);

// int8 per-call work (SageAttention): K smoothed (its per-channel mean over the valid keys of
// each kv head subtracted; softmax is unchanged by it), then Q and K quantised to int8 with
// one scale (max|x| / 127) per block of kInt8Rows rows per head; writes round(x / s) * s.
void quantize_qk_int8(const Problem& p, const Tensors& t, float* q_out, float* k_out);
// Only Q's part (the decode path, whose K is quantised in its cache).
void quantize_q_int8(const Problem& p, const float* q, float* q_out);

// The int8 codes round(x_i / s) of n values (stride `stride`) with s = max|x| / 127, as floats
// holding integers; returns s (0 when every value is 0, codes 0). Every int8 quantisation here
// goes through it, so the cache and the emulated path hold the same values.
float int8_codes(const float* x, long n, long stride, float* codes);
// The per-channel mean of one kv head's first `valid` keys (D values): what smoothing subtracts.
void key_means(const float* k, long valid, int D, float* mean);

}  // namespace attn
