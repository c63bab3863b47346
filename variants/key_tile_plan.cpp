#include "key_tile_plan.hpp"

namespace attn {

KeyTilePlan transpose_block_plan(const BlockPlan& plan) {
  KeyTilePlan t;
  t.layout_heads = plan.layout_heads, t.q_tiles = plan.q_tiles, t.k_tiles = plan.k_tiles;
  const std::size_t slots = static_cast<std::size_t>(plan.layout_heads) * plan.k_tiles;
  // Counting sort by (layout head, key tile): counts, prefix sums, then a stable fill.
  t.begin.assign(slots + 1, 0);
  for (int lh = 0; lh < plan.layout_heads; ++lh)
    for (int qt = 0; qt < plan.q_tiles; ++qt) {
      const std::size_t slot = static_cast<std::size_t>(lh) * plan.q_tiles + qt;
      for (uint32_t e = plan.begin[slot]; e < plan.begin[slot + 1]; ++e)
        ++t.begin[static_cast<std::size_t>(lh) * plan.k_tiles + plan.refs[e].k_tile + 1];
    }
  for (std::size_t s = 0; s < slots; ++s) t.begin[s + 1] += t.begin[s];
  t.refs.resize(plan.refs.size());
  std::vector<uint32_t> next(t.begin.begin(), t.begin.end() - 1);
  for (int lh = 0; lh < plan.layout_heads; ++lh)
    for (int qt = 0; qt < plan.q_tiles; ++qt) {
      const std::size_t slot = static_cast<std::size_t>(lh) * plan.q_tiles + qt;
      for (uint32_t e = plan.begin[slot]; e < plan.begin[slot + 1]; ++e) {
        const TileRef ref = plan.refs[e];
        t.refs[next[static_cast<std::size_t>(lh) * plan.k_tiles + ref.k_tile]++] = {qt, ref.kind};
      }
    }
  return t;
}

}  // namespace attn
