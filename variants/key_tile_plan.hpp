// The block plan transposed for the backward: per key tile, the query tiles that visit it.
#pragma once
#include <cstdint>
#include <vector>

#include "attention_mask.hpp"
#include "flash_backward_args.hpp"

namespace attn {

struct KeyTilePlan {
  int layout_heads = 1, q_tiles = 0, k_tiles = 0;
  std::vector<uint32_t> begin;  // layout_heads x k_tiles + 1
  std::vector<QueryTileRef> refs;
  int items = 1;
  KeyTilePlanView view() const { return {layout_heads, q_tiles, k_tiles, begin.data(), refs.data(), items}; }
};

// The same (query tile, key tile) pairs and kinds as `plan`, listed by key tile (query tiles in
// increasing order). O(tiles) time and memory.
KeyTilePlan transpose_block_plan(const BlockPlan& plan);
// The same for a per-call plan (block_topk's, per batch item) holding n_refs refs, into t and
// next, which allocate nothing once their capacities fit (items x layout_heads x k_tiles + 1
// begins and n_refs refs, reserved at plan time).
void transpose_tile_plan(const TilePlanView& plan, std::size_t n_refs, KeyTilePlan& t, std::vector<uint32_t>& next);

}  // namespace attn
