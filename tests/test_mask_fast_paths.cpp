// The mask fast paths the engine relies on, checked element by element against visible():
// the block plan's tile kinds (empty tiles skipped, full tiles unmasked, band tiles one interval
// per row), the variants' mark_holes fills (block layouts, sinks, dilation), and the visible-pair
// count built on both.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "attention_mask.hpp"
#include "masked_softmax_variant.hpp"
#include "variant.hpp"

using namespace attn;

namespace {

void check_mask(const std::string& spec, const Problem& p) {
  INFO(spec, " Nq=", p.Nq, " Nk=", p.Nk, " causal=", p.causal);
  const auto variant = make_variant(spec);
  const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
  REQUIRE(masked != nullptr);
  const auto mask = masked->make_mask(p);
  const VisibleKeys keys(p, *mask);
  const BlockPlan plan = build_block_plan(p, keys);
  double expected_pairs = 0;
  std::vector<uint8_t> row(p.Nk + 7);
  long mismatches = 0, kind_errors = 0;
  for (int h = 0; h < p.H; ++h) {
    const int lh = plan.layout_heads == 1 ? 0 : h;
    for (long i = 0; i < p.Nq; ++i) {
      std::vector<uint8_t> truth(p.Nk);
      for (long j = 0; j < p.Nk; ++j) truth[j] = keys.visible(h, i, j), expected_pairs += truth[j];
      // mark_row over the whole row and over unaligned windows.
      for (long j0 : {0L, 13L, 64L, 101L}) {
        if (j0 >= p.Nk) continue;
        const int n = static_cast<int>(std::min<long>(p.Nk - j0, 77));
        std::fill(row.begin(), row.end(), uint8_t{7});
        keys.mark_row(h, i, j0, n, row.data());
        for (int t = 0; t < n; ++t) mismatches += row[t] != truth[j0 + t];
        mismatches += row[n] != 7;  // nothing written past n
      }
      // Every key tile's kind against the truth.
      const long qt = i / kTileQ;
      std::vector<TileKind> kind(plan.k_tiles, TileKind::empty);
      const std::size_t slot = static_cast<std::size_t>(lh) * plan.q_tiles + qt;
      for (uint32_t e = plan.begin[slot]; e < plan.begin[slot + 1]; ++e) kind[plan.refs[e].k_tile] = plan.refs[e].kind;
      for (int kt = 0; kt < plan.k_tiles; ++kt) {
        const long j0 = static_cast<long>(kt) * kTileK, j1 = std::min<long>(j0 + kTileK, p.Nk);
        long band_lo = 0, band_hi = 0;  // what the engine clips band tiles with
        keys.row_bands(i, 1, &band_lo, &band_hi);
        for (long j = j0; j < j1; ++j) {
          const bool seen = truth[j] != 0;
          switch (kind[kt]) {
            case TileKind::empty: kind_errors += seen; break;
            case TileKind::full: kind_errors += !seen; break;
            case TileKind::band: kind_errors += seen != (j >= band_lo && j < band_hi); break;
            case TileKind::partial: break;
          }
        }
      }
    }
  }
  CHECK(mismatches == 0);
  CHECK(kind_errors == 0);
  CHECK(masked->visible_pairs(p) == expected_pairs);
}

}  // namespace

TEST_CASE("mask fast paths: plan tile kinds, mark_holes fills and pair counts match visible()") {
  const char* specs[] = {"window:left=70,right=5",
                         "block_sparse:pattern=bigbird,block=64",
                         "block_sparse:pattern=bigbird,block=48,seed=3",
                         "block_sparse:pattern=random,block=20",
                         "block_sparse:pattern=strided,block=100",
                         "sink:sink=4,window=50",
                         "sink:sink=70,window=30",
                         "dilated:left=100,right=0,dilation=3",
                         "dilated:left=-1,right=20,dilation=2"};
  for (const char* spec : specs)
    for (bool causal : {false, true}) {
      Problem p;
      p.H = 2, p.Nq = 300, p.Nk = 300, p.D = 8, p.causal = causal;
      check_mask(spec, p);
      p.Nq = 140, p.Nk = 330;  // bottom-right aligned queries
      check_mask(spec, p);
    }
}
