#include "key_tile_plan.hpp"

namespace attn {

void transpose_tile_plan(const TilePlanView& plan, std::size_t n_refs, KeyTilePlan& t, std::vector<uint32_t>& next) {
  t.layout_heads = plan.layout_heads, t.q_tiles = plan.q_tiles, t.k_tiles = plan.k_tiles, t.items = plan.items;
  const std::size_t lhs = static_cast<std::size_t>(plan.items) * plan.layout_heads;
  const std::size_t slots = lhs * plan.k_tiles;
  // Counting sort by (item, layout head, key tile): counts, prefix sums, then a stable fill.
  t.begin.assign(slots + 1, 0);
  for (std::size_t lh = 0; lh < lhs; ++lh)
    for (int qt = 0; qt < plan.q_tiles; ++qt) {
      const std::size_t slot = lh * plan.q_tiles + qt;
      for (uint32_t e = plan.begin[slot]; e < plan.begin[slot + 1]; ++e)
        ++t.begin[lh * plan.k_tiles + plan.refs[e].k_tile + 1];
    }
  for (std::size_t s = 0; s < slots; ++s) t.begin[s + 1] += t.begin[s];
  t.refs.resize(n_refs);
  next.assign(t.begin.begin(), t.begin.end() - 1);
  for (std::size_t lh = 0; lh < lhs; ++lh)
    for (int qt = 0; qt < plan.q_tiles; ++qt) {
      const std::size_t slot = lh * plan.q_tiles + qt;
      for (uint32_t e = plan.begin[slot]; e < plan.begin[slot + 1]; ++e) {
        const TileRef ref = plan.refs[e];
        t.refs[next[lh * plan.k_tiles + ref.k_tile]++] = {qt, ref.kind};
      }
    }
}

KeyTilePlan transpose_block_plan(const BlockPlan& plan) {
  KeyTilePlan t;
  std::vector<uint32_t> next;
  transpose_tile_plan(plan.view(), plan.refs.size(), t, next);
  return t;
}

}  // namespace attn
