// What the flash backward needs: the forward's tensors and results, dO, where the gradients go,
// and the block plan transposed (per key tile, the query tiles that visit it). Arch-independent.
#pragma once
#include <cstdint>

#include "masked_attention_args.hpp"

namespace attn {

struct QueryTileRef {
  int32_t q_tile;
  TileKind kind;  // as the forward's plan classifies the (query tile, key tile) pair
};

// For batch item b, head h and key tile kt, the query tiles are
// refs[begin[slot(b, h, kt)] .. begin[slot(b, h, kt) + 1]), in increasing order.
struct KeyTilePlanView {
  int layout_heads = 1;  // 1 (shared by every head) or H
  int q_tiles = 0;
  int k_tiles = 0;
  const uint32_t* begin = nullptr;
  const QueryTileRef* refs = nullptr;
  int items = 1;  // 1 (shared by every batch item) or B (data-dependent plans such as block_topk)
  std::size_t slot(int b, int h, int kt) const {
    const std::size_t lh = (items == 1 ? 0 : static_cast<std::size_t>(b) * layout_heads) + (layout_heads == 1 ? 0 : h);
    return lh * k_tiles + kt;
  }
};

struct FlashBackwardArgs {
  const Problem* p = nullptr;
  Tensors in;
  const float* o = nullptr;     // the forward's output [B, H, Nq, D]
  const float* lse = nullptr;   // its natural-log log-sum-exp [B, H, Nq] (-inf: the row saw no key)
  const float* dout = nullptr;  // dO [B, H, Nq, D]
  Gradients grads;
  KeyTilePlanView plan;
  const ElementMask* mask = nullptr;  // needed only if the plan has band or partial tiles
  // As the forward applied them (the sinks are in lse already).
  ScoreModifiers mods;
  // The plan's buffer of flash_backward_workspace(p, threads) bytes, 64-byte aligned.
  void* workspace = nullptr;
  int threads = 1;
};

}  // namespace attn
