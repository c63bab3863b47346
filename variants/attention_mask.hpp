// Which keys each query sees, as a softmax variant defines it. The engine adds the rules every
// variant shares (causal, the key count, per-item lengths) through VisibleKeys below.
//
// A mask has two parts:
//  - key_range(i): an inclusive [lo, hi] band of keys for query row i, with lo and hi
//    nondecreasing in i (causal, windows). Whole tiles outside it are skipped, tiles inside it
//    run without any element test.
//  - optionally, holes inside the band (block layouts, sinks, dilation): visible(h, i, j) and
//    classify_holes() for whole tiles.
#pragma once
#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "masked_attention_args.hpp"
#include "problem.hpp"

namespace attn {

struct KeyRange {
  long lo, hi;  // inclusive; empty when lo > hi
};

class AttentionMask {
 public:
  virtual ~AttentionMask() = default;
  virtual KeyRange key_range(long /*i*/) const { return {0, LONG_MAX}; }
  virtual bool has_holes() const { return false; }
  // Inside key_range only; consulted only when has_holes().
  virtual bool visible(int /*h*/, long /*i*/, long /*j*/) const { return true; }
  // Tile [i0, i1) x [j0, j1) of head h: empty, full or partial as far as the holes go.
  // The default tests every element; override it when a cheaper answer exists.
  virtual TileKind classify_holes(int h, long i0, long i1, long j0, long j1) const;
  // out[j - j0] = visible(h, i, j) for keys [j0, j1) inside key_range(i). The engine calls it for
  // every row of a tile with holes; the default asks visible() per key, override it with
  // interval fills when the holes have a shape (blocks, a gap, a stride).
  virtual void mark_holes(int h, long i, long j0, long j1, uint8_t* out) const;
  // 1 if every head has the same pattern, H if the pattern differs by head.
  virtual int layout_heads() const { return 1; }
};

// The full visibility rule of SPEC.md: the variant's mask, causal, and 0 <= j < Nk.
class VisibleKeys final : public ElementMask {
 public:
  VisibleKeys(const Problem& p, const AttentionMask& mask);
  KeyRange range(long i) const;  // band for row i, clipped to [0, Nk - 1] and causal
  bool visible(int h, long i, long j) const;
  void mark_row(int h, long i, long j0, int n, uint8_t* out) const override;
  void row_bands(long i0, int n, long* lo, long* hi) const override;
  // The band of row i within [j0, j0 + n), as [lo, hi) relative to j0 (lo >= hi: none).
  void band_row(long i, long j0, int n, int& lo, int& hi) const;
  // empty, full, band (only the band cuts it) or partial (holes cut it).
  TileKind classify(int h, long i0, long i1, long j0, long j1) const;
  const AttentionMask& mask() const { return mask_; }
  int layout_heads() const { return layout_heads_; }

 private:
  const Problem& p_;
  const AttentionMask& mask_;
  bool holes_;
  int layout_heads_;
};

// The key tiles each query tile visits, in the engine's tile size.
struct BlockPlan {
  int layout_heads = 1, q_tiles = 0, k_tiles = 0;
  std::vector<uint32_t> begin;
  std::vector<TileRef> refs;
  TilePlanView view() const { return {layout_heads, q_tiles, k_tiles, begin.data(), refs.data()}; }
};

BlockPlan build_block_plan(const Problem& p, const VisibleKeys& keys);

// build_block_plan(p, keys).refs.size() without storing the plan: O(q_tiles) for masks without
// holes, one classify() per tile in the band otherwise.
std::size_t count_plan_tiles(const Problem& p, const VisibleKeys& keys);

// Visible (query, key) pairs summed over batch items and heads, honouring lengths. Without holes
// it sums each row's band, O(Nq) (per item with lengths), without building a plan.
double count_visible_pairs(const Problem& p, const VisibleKeys& keys);

}  // namespace attn
