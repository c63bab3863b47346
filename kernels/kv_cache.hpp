// A KV cache held in a narrow type, as a model keeps it between decode steps: the decode path
// reads these bytes (2 per element for bf16 / f16, 1 for int8) instead of float32 K and V.
// Arch-independent; filled before timing by store_inputs (variants/precision.hpp).
#pragma once
#include <cstdint>

#include "masked_attention_args.hpp"

namespace attn {

// Element types of a narrow cache: the 16 bits of a bfloat16 / IEEE half, or an int8 value.
struct Bf16Bits {
  uint16_t bits;
};
struct F16Bits {
  uint16_t bits;
};

// K is held per 64-key tile transposed (keys past Nk are zeros), the layout the decode kernel's
// Q.K^T reads: a new token writes one column, and no call transposes the cache.
//  - bf16 / f16: [B, Hkv, ceil(Nk / kTileK), D, kTileK].
//  - int8: [B, Hkv, ceil(Nk / kTileK), D4, kTileK, 4] with D4 = ceil(D / 4): per key a word of
//    4 consecutive dims (zeros past D), the operand layout of vpdpbusd (kernels/native/
//    int8_decode_qk.hpp), and also widened one dim at a time where there is no VNNI.
// V is held as given, [B, Hkv, Nk, D].
struct KvCache {
  DType dtype = DType::f32;  // bf16, f16 or int8
  const void* k = nullptr;   // Bf16Bits, F16Bits or int8_t, tile-transposed (above)
  const void* v = nullptr;
  // int8 only (SPEC): K smoothed (per-channel mean over the keys subtracted), then one scale per
  // block of kTileK keys per head (a key tile), [B, Hkv, ceil(Nk / kTileK)]; V one scale per
  // channel, [B, Hkv, D]. The value is int8 x scale.
  const float* k_scale = nullptr;
  const float* v_scale = nullptr;
};

// Elements of one key tile of a narrow cache's K (above).
inline long kv_cache_k_tile_elems(DType dtype, int D) {
  return (dtype == DType::int8 ? (D + 3) / 4 * 4L : static_cast<long>(D)) * kTileK;
}
// Element (key j of the tile, dim d) of one key tile of a narrow cache's K.
inline long kv_cache_k_tile_offset(DType dtype, int j, int d) {
  return dtype == DType::int8 ? (d / 4 * static_cast<long>(kTileK) + j) * 4 + d % 4 : static_cast<long>(d) * kTileK + j;
}

// The problems whose K and V the decode path reads from a narrow KvCache (Tensors::cache):
// narrow dtypes in a decode-sized forward. One definition for the implementation list and for
// store_inputs, which builds the cache only for these.
inline bool reads_kv_cache(const Problem& p) {
  return p.dtype != DType::f32 && p.pass == Pass::fwd && p.Nq <= kDecodeMaxQ;
}

}  // namespace attn
