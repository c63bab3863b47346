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

BlockPlan build_block_plan(const Problem& p, const VisibleKeys& keys) {
  BlockPlan plan;
  plan.layout_heads = keys.layout_heads();
  plan.q_tiles = (p.Nq + kTileQ - 1) / kTileQ;
  plan.k_tiles = (p.Nk + kTileK - 1) / kTileK;
  plan.begin.reserve(static_cast<std::size_t>(plan.layout_heads) * plan.q_tiles + 1);
  plan.begin.push_back(0);
  for (int h = 0; h < plan.layout_heads; ++h)
    for (int qt = 0; qt < plan.q_tiles; ++qt) {
      const long i0 = static_cast<long>(qt) * kTileQ, i1 = std::min<long>(i0 + kTileQ, p.Nq);
      // Key tiles outside [band lo of the first row, band hi of the last row] are empty.
      const KeyRange first = keys.range(i0), last = keys.range(i1 - 1);
      const long kt_lo = std::max(first.lo, 0L) / kTileK;
      const long kt_hi = std::min<long>(last.hi / kTileK, plan.k_tiles - 1);
      for (long kt = kt_lo; kt <= kt_hi; ++kt) {
        const long j0 = static_cast<long>(kt) * kTileK, j1 = std::min<long>(j0 + kTileK, p.Nk);
        const TileKind kind = keys.classify(h, i0, i1, j0, j1);
        if (kind != TileKind::empty) plan.refs.push_back({static_cast<int32_t>(kt), kind});
      }
      plan.begin.push_back(static_cast<uint32_t>(plan.refs.size()));
    }
  return plan;
}

double count_visible_pairs(const Problem& p, const VisibleKeys& keys, const BlockPlan& plan) {
  std::vector<uint8_t> row(kTileK);
  double total = 0;
  // Without lengths every batch item counts the same: count item 0 and multiply.
  const int distinct_items = p.has_lens() ? p.B : 1;
  for (int b = 0; b < distinct_items; ++b) {
    const long vq = p.valid_q(b), vk = p.valid_k(b);
    double item = 0;
    for (int lh = 0; lh < plan.layout_heads; ++lh)
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
          if (ref.kind == TileKind::band) {
            for (long i = i0; i < i1; ++i) {
              int lo = 0, hi = 0;
              keys.band_row(i, j0, static_cast<int>(j1 - j0), lo, hi);
              item += std::max(0, hi - lo);
            }
            continue;
          }
          for (long i = i0; i < i1; ++i) {
            keys.mark_row(lh, i, j0, static_cast<int>(j1 - j0), row.data());
            for (long t = 0; t < j1 - j0; ++t) item += row[t];
          }
        }
      }
    total += item * (plan.layout_heads == 1 ? p.H : 1);
  }
  return p.has_lens() ? total : total * p.B;
}

}  // namespace attn
