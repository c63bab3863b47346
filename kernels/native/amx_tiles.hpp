// AMX tile basics shared by the AMX products (amx_bf16_products.hpp, amx_int8_products.hpp) and
// the peak probes (amx_loop.hpp): the one tile configuration they all use, the per-thread scope
// that loads it and releases the tile state, and the target attribute.
//
// One configuration for everything: eight 16-row x 64-byte tiles. A, B and C tiles of
// tdpbf16ps (16 rows x 32 bf16 / 16 pairs x 16 columns / 16 x 16 float32) and tdpbusd
// (16 x 64 bytes / 16 quads x 16 columns / 16 x 16 int32) all have that shape, so no kernel
// reconfigures. tmm0-3 are accumulators, tmm4 the A operand, tmm5-7 B operands.
//
// The compiler's tile intrinsics are asm statements that do not tell it they read memory:
// every routine that loads a tile from a buffer it (or its caller) just wrote starts with
// amx::memory_barrier(), so those stores are neither dropped nor moved past the loads.
#pragma once
#include <immintrin.h>

#include <cstdint>

#define ATTN_TARGET_AMX                                                                            \
  __attribute__((target("amx-tile,amx-bf16,amx-int8,avx512bf16,avx512vnni,avx512f,avx512bw,avx512vl," \
                        "avx512dq")))

namespace attn::kernels::amx {

constexpr int kTileRows = 16;   // rows of every tile
constexpr int kTileBytes = 64;  // bytes per tile row

inline void memory_barrier() { __asm__ volatile("" ::: "memory"); }

// The 64-byte LDTILECFG operand: palette 1, tiles 0-7 all 16 rows x 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
  TileConfig() {
    for (int t = 0; t < 8; ++t) colsb[t] = kTileBytes, rows[t] = kTileRows;
  }
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads 64 bytes");

ATTN_TARGET_AMX inline void load_config() {
  static const TileConfig config;
  memory_barrier();
  _tile_loadconfig(&config);
}
ATTN_TARGET_AMX inline void release() { _tile_release(); }

// Loads the configuration for the lifetime of the object on the calling thread; the engine
// holds one per OpenMP thread (masked_attention_with's ProductsThreadScope).
struct ThreadScope {
  ThreadScope() { load_config(); }
  ~ThreadScope() { release(); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
};

}  // namespace attn::kernels::amx
