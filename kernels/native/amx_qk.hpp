// Q.K^T on AMX tiles, one loop for both dtypes: amx_bf16_products.hpp (tdpbf16ps: a 64-byte
// tile row is 32 bf16 = 16 pairs of dims) and amx_int8_products.hpp (tdpbusd: 64 bytes = 16
// quads of dims). In both layouts a chunk of 16 words per query row is one A tile and 16 words
// x 64 keys of a packed key tile is four B tiles, so only the instruction differs.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../masked_attention_args.hpp"
#include "amx_tiles.hpp"

namespace attn::kernels::amx {

constexpr long kKeyRowBytes = kTileK * 4;  // a packed key tile's (and the score block's) row stride

// The four products of one chunk, C tile c += A (tmm4) . B (tmm5, 6, 7, then 5 again). The
// intrinsics stringify their tile numbers, so each is spelled out.
struct TileDotBf16 {
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c0() { _tile_dpbf16ps(0, 4, 5); }
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c1() { _tile_dpbf16ps(1, 4, 6); }
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c2() { _tile_dpbf16ps(2, 4, 7); }
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c3() { _tile_dpbf16ps(3, 4, 5); }
};
struct TileDotInt8 {  // u8 (A) x s8 (B) -> int32
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c0() { _tile_dpbusd(0, 4, 5); }
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c1() { _tile_dpbusd(1, 4, 6); }
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c2() { _tile_dpbusd(2, 4, 7); }
  [[gnu::always_inline]] ATTN_TARGET_AMX static inline void c3() { _tile_dpbusd(3, 4, 5); }
};

// C[16][N x 16] (4-byte elements, row stride kTileK) = sum over `chunks` chunks of 16 words
// of Q rows (stride q_stride bytes) times the key tile kt ([16 words per chunk][64 keys]).
template <class Dot, int N>
[[gnu::noinline]] ATTN_TARGET_AMX void qk_tiles(const uint32_t* q, long q_stride, int chunks, const uint32_t* kt, void* c) {
  memory_barrier();
  _tile_zero(0);
  if constexpr (N > 1) _tile_zero(1);
  if constexpr (N > 2) _tile_zero(2);
  if constexpr (N > 3) _tile_zero(3);
  for (int t = 0; t < chunks; ++t) {
    const uint32_t* kb = kt + static_cast<std::size_t>(t) * kTileRows * kTileK;
    _tile_loadd(4, q + t * kTileRows, q_stride);
    _tile_loadd(5, kb, kKeyRowBytes);
    Dot::c0();
    if constexpr (N > 1) {
      _tile_loadd(6, kb + 16, kKeyRowBytes);
      Dot::c1();
    }
    if constexpr (N > 2) {
      _tile_loadd(7, kb + 32, kKeyRowBytes);
      Dot::c2();
    }
    if constexpr (N > 3) {
      _tile_loadd(5, kb + 48, kKeyRowBytes);
      Dot::c3();
    }
  }
  char* out = static_cast<char*>(c);
  _tile_stored(0, out, kKeyRowBytes);
  if constexpr (N > 1) _tile_stored(1, out + 64, kKeyRowBytes);
  if constexpr (N > 2) _tile_stored(2, out + 128, kKeyRowBytes);
  if constexpr (N > 3) _tile_stored(3, out + 192, kKeyRowBytes);
}

}  // namespace attn::kernels::amx
