// The narrow KV cache of a decode problem (kernels/kv_cache.hpp), built from float32 K and V
// before timing, as a model fills its cache: bf16 / f16 bits rounded to nearest even, or int8
// with SageAttention's scales (K smoothed, one scale per key tile per head; V per channel).
// Holds exactly the values the emulated path computes with (variants/precision.hpp).
#pragma once
#include <cstdint>
#include <vector>

#include "large_pages.hpp"
#include "kv_cache.hpp"
#include "problem.hpp"

namespace attn {

struct KvCacheStore {
  LargeVector<uint16_t> k16, v16;       // bf16 / f16
  LargeVector<int8_t> k8, v8;           // int8
  std::vector<float> k_scale, v_scale;  // int8
  KvCache view;
  KvCacheStore(const Problem& p, const Tensors& t);
  KvCacheStore(const KvCacheStore&) = delete;  // view points into the vectors
  KvCacheStore& operator=(const KvCacheStore&) = delete;
  // Bytes a cache of problem p holds.
  static double bytes(const Problem& p);
  // Where key j, dim d of a head lies in the tile-transposed K of a `dtype` cache
  // (kernels/kv_cache.hpp), from the head's first element.
  static long k_offset(DType dtype, long j, int d, int D);
};

// The bits of x rounded to bfloat16 / IEEE half (nearest even; finite x).
uint16_t bf16_bits(float x);
uint16_t f16_bits(float x);

}  // namespace attn
