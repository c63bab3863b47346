// Loops of independent AMX tile products: the ceilings of the AMX bf16 and int8 paths
// (`attnbench peak --dtype bf16|int8` at the amx level), as dot_loop.hpp is for vdpbf16ps /
// vpdpbusd. Four accumulators (tmm0-3) from two A and two B tiles, the 2 x 2 blocking a GEMM
// uses; counted in flops-equivalent, 2 per multiply-add: one tdpbf16ps does 16 x 16 x 32
// multiply-adds, one tdpbusd 16 x 16 x 64.
#pragma once
#include "amx_tiles.hpp"

namespace attn::kernels {

namespace amx {
// Operand tiles of small values (bf16 1.0 pairs / bytes of 1): finite sums for any length.
ATTN_TARGET_AMX inline void load_probe_operands(uint32_t word) {
  alignas(64) static thread_local uint32_t buf[kTileRows * kTileBytes / 4];
  for (uint32_t& w : buf) w = word;
  memory_barrier();
  _tile_loadd(4, buf, kTileBytes);
  _tile_loadd(5, buf, kTileBytes);
  _tile_loadd(6, buf, kTileBytes);
  _tile_loadd(7, buf, kTileBytes);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
}
}  // namespace amx

ATTN_TARGET_AMX inline double amx_bf16_loop(long iterations) {
  amx::ThreadScope scope;
  amx::load_probe_operands(0x3F803F80u);
  for (long i = 0; i < iterations; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  alignas(64) float out[amx::kTileRows * 16];
  _tile_stored(0, out, 64);
  volatile float sink = out[0];
  (void)sink;
  return 2.0 * 4 * 16 * 16 * 32 * static_cast<double>(iterations);
}

ATTN_TARGET_AMX inline double amx_int8_loop(long iterations) {
  amx::ThreadScope scope;
  amx::load_probe_operands(0x01010101u);
  for (long i = 0; i < iterations; ++i) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  alignas(64) int32_t out[amx::kTileRows * 16];
  _tile_stored(0, out, 64);
  volatile int32_t sink = out[0];
  (void)sink;
  return 2.0 * 4 * 16 * 16 * 64 * static_cast<double>(iterations);
}

}  // namespace attn::kernels
