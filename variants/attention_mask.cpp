#include "attention_mask.hpp"

#include <algorithm>

namespace attn {

TileKind AttentionMask::classify_holes(int h, long i0, long i1, long j0, long j1) const {
  long seen = 0;
  for (long i = i0; i < i1; ++i)
    for (long j = j0; j < j1; ++j) seen += visible(h, i, j) ? 1 : 0;
  if (seen == 0) return TileKind::empty;
  return seen == (i1 - i0) * (j1 - j0) ? TileKind::full : TileKind::partial;
}

VisibleKeys::VisibleKeys(const Problem& p, const AttentionMask& mask)
    : p_(p), mask_(mask), holes_(mask.has_holes()), layout_heads_(mask.layout_heads()) {}

KeyRange VisibleKeys::range(long i) const {
  KeyRange r = mask_.key_range(i);
  r.lo = std::max(r.lo, 0L);
  r.hi = std::min(r.hi, static_cast<long>(p_.Nk) - 1);
  if (p_.causal) r.hi = std::min(r.hi, p_.position(i));
  return r;
}

bool VisibleKeys::visible(int h, long i, long j) const {
  const KeyRange r = range(i);
  return j >= r.lo && j <= r.hi && (!holes_ || mask_.visible(h, i, j));
}

void AttentionMask::mark_holes(int h, long i, long j0, long j1, uint8_t* out) const {
  for (long j = j0; j < j1; ++j) out[j - j0] = visible(h, i, j);
}

void VisibleKeys::mark_row(int h, long i, long j0, int n, uint8_t* out) const {
  int lo = 0, hi = 0;
  band_row(i, j0, n, lo, hi);
  hi = std::max(lo, hi);
  std::fill(out, out + lo, uint8_t{0});
  if (holes_ && lo < hi)
    mask_.mark_holes(h, i, j0 + lo, j0 + hi, out + lo);
  else
    std::fill(out + lo, out + hi, uint8_t{1});
  std::fill(out + hi, out + n, uint8_t{0});
}

void VisibleKeys::band_row(long i, long j0, int n, int& lo, int& hi) const {
  const KeyRange r = range(i);
  lo = static_cast<int>(std::clamp(r.lo - j0, 0L, static_cast<long>(n)));
  hi = static_cast<int>(std::clamp(r.hi + 1 - j0, 0L, static_cast<long>(n)));
}

void VisibleKeys::row_bands(long i0, int n, long* lo, long* hi) const {
  for (int r = 0; r < n; ++r) {
    const KeyRange band = range(i0 + r);
    lo[r] = band.lo, hi[r] = band.hi + 1;
  }
}

// With lo(i) and hi(i) nondecreasing, the first and last rows bound the whole tile.
TileKind VisibleKeys::classify(int h, long i0, long i1, long j0, long j1) const {
  const KeyRange first = range(i0), last = range(i1 - 1);
  if (first.lo > j1 - 1 || last.hi < j0) return TileKind::empty;
  const bool band_full = last.lo <= j0 && first.hi >= j1 - 1;
  const TileKind inner = holes_ ? mask_.classify_holes(h, i0, i1, j0, j1) : TileKind::full;
  if (inner != TileKind::full) return inner;  // empty, or holes to mark per element
  return band_full ? TileKind::full : TileKind::band;
}

namespace {
// The key tiles query tile qt may visit: [band lo of its first row, band hi of its last row].
// Tiles outside are empty; inside, only holes (or a row band emptier than the tile's corners)
// can empty a tile.
void band_tiles(const Problem& p, const VisibleKeys& keys, int qt, int k_tiles, long& i0, long& i1, long& kt_lo,
                long& kt_hi) {
  i0 = static_cast<long>(qt) * kTileQ, i1 = std::min<long>(i0 + kTileQ, p.Nq);
  const KeyRange first = keys.range(i0), last = keys.range(i1 - 1);
  kt_lo = std::max(first.lo, 0L) / kTileK;
  kt_hi = std::min<long>(last.hi / kTileK, k_tiles - 1);
}

long tile_end(const Problem& p, long kt) { return std::min<long>(kt * kTileK + kTileK, p.Nk); }
}  // namespace

BlockPlan build_block_plan(const Problem& p, const VisibleKeys& keys) {
  BlockPlan plan;
  plan.layout_heads = keys.layout_heads();
  plan.q_tiles = (p.Nq + kTileQ - 1) / kTileQ;
  plan.k_tiles = (p.Nk + kTileK - 1) / kTileK;
  plan.begin.reserve(static_cast<std::size_t>(plan.layout_heads) * plan.q_tiles + 1);
  plan.begin.push_back(0);
  for (int h = 0; h < plan.layout_heads; ++h)
    for (int qt = 0; qt < plan.q_tiles; ++qt) {
      long i0, i1, kt_lo, kt_hi;
      band_tiles(p, keys, qt, plan.k_tiles, i0, i1, kt_lo, kt_hi);
      for (long kt = kt_lo; kt <= kt_hi; ++kt) {
        const TileKind kind = keys.classify(h, i0, i1, kt * kTileK, tile_end(p, kt));
        if (kind != TileKind::empty) plan.refs.push_back({static_cast<int32_t>(kt), kind});
      }
      plan.begin.push_back(static_cast<uint32_t>(plan.refs.size()));
    }
  return plan;
}

std::size_t count_plan_tiles(const Problem& p, const VisibleKeys& keys) {
  const int q_tiles = (p.Nq + kTileQ - 1) / kTileQ, k_tiles = (p.Nk + kTileK - 1) / kTileK;
  const bool holes = keys.mask().has_holes();
  std::size_t tiles = 0;
  for (int h = 0; h < (holes ? keys.layout_heads() : 1); ++h)
    for (int qt = 0; qt < q_tiles; ++qt) {
      long i0, i1, lo, hi;
      band_tiles(p, keys, qt, k_tiles, i0, i1, lo, hi);
      auto empty = [&](long kt) { return keys.classify(h, i0, i1, kt * kTileK, tile_end(p, kt)) == TileKind::empty; };
      if (holes) {
        for (long kt = lo; kt <= hi; ++kt) tiles += !empty(kt);
        continue;
      }
      // Without holes a tile is empty only past the first row's band start or the last row's
      // band end, so the non-empty tiles are one run: trim its ends (a tile or so each).
      while (lo <= hi && empty(lo)) ++lo;
      while (hi >= lo && empty(hi)) --hi;
      tiles += static_cast<std::size_t>(hi - lo + 1);
    }
  return holes ? tiles : tiles * keys.layout_heads();
}

namespace {
// Rows [0, vq) of one batch item and one layout head, keys below vk, tile by tile.
double count_item_with_holes(const Problem& p, const VisibleKeys& keys, const BlockPlan& plan, int lh, long vq,
                             long vk) {
  std::vector<uint8_t> row(kTileK);
  double item = 0;
  for (int qt = 0; qt < plan.q_tiles; ++qt) {
    const long i0 = static_cast<long>(qt) * kTileQ, i1 = std::min<long>({i0 + kTileQ, p.Nq, vq});
    if (i1 <= i0) continue;
    const std::size_t slot = static_cast<std::size_t>(lh) * plan.q_tiles + qt;
    for (uint32_t e = plan.begin[slot]; e < plan.begin[slot + 1]; ++e) {
      const TileRef ref = plan.refs[e];
      const long j0 = static_cast<long>(ref.k_tile) * kTileK, j1 = std::min<long>({j0 + kTileK, p.Nk, vk});
      if (j1 <= j0) continue;
      if (ref.kind == TileKind::full) {
        item += static_cast<double>(i1 - i0) * (j1 - j0);
        continue;
      }
      for (long i = i0; i < i1; ++i) {
        if (ref.kind == TileKind::band) {
          int lo = 0, hi = 0;
          keys.band_row(i, j0, static_cast<int>(j1 - j0), lo, hi);
          item += std::max(0, hi - lo);
          continue;
        }
        keys.mark_row(lh, i, j0, static_cast<int>(j1 - j0), row.data());
        for (long t = 0; t < j1 - j0; ++t) item += row[t];
      }
    }
  }
  return item;
}

// The same without holes: each row sees its band, clipped to the item's keys.
double count_item_bands(const VisibleKeys& keys, long vq, long vk) {
  double item = 0;
  for (long i = 0; i < vq; ++i) {
    const KeyRange r = keys.range(i);
    item += static_cast<double>(std::max(0L, std::min(r.hi, vk - 1) - r.lo + 1));
  }
  return item;
}
}  // namespace

double count_visible_pairs(const Problem& p, const VisibleKeys& keys) {
  const bool holes = keys.mask().has_holes();
  BlockPlan plan;
  if (holes) plan = build_block_plan(p, keys);
  const int layout_heads = holes ? plan.layout_heads : 1;
  double total = 0;
  // Without lengths every batch item counts the same: count item 0 and multiply.
  const int distinct_items = p.has_lens() ? p.B : 1;
  for (int b = 0; b < distinct_items; ++b) {
    const long vq = std::min<long>(p.valid_q(b), p.Nq), vk = std::min<long>(p.valid_k(b), p.Nk);
    double item = 0;
    for (int lh = 0; lh < layout_heads; ++lh)
      item += holes ? count_item_with_holes(p, keys, plan, lh, vq, vk) : count_item_bands(keys, vq, vk);
    total += item * (layout_heads == 1 ? p.H : 1);
  }
  return p.has_lens() ? total : total * p.B;
}

}  // namespace attn
