// sink: StreamingLLM attention sinks (Xiao et al. 2023). Query row i at position
// p = i + (Nk - Nq) sees the first `sink` keys plus the recent window p - window <= j <= p, so at
// most sink + window + 1 keys (window=W alone matches window:left=W,right=0).
// The band [0, p] is the key_range; the gap between the sinks and the window is the hole.
#include <algorithm>

#include "masked_softmax_variant.hpp"

namespace attn {

namespace {
class SinkMask final : public AttentionMask {
 public:
  SinkMask(const Problem& p, long sink, long window) : p_(p), sink_(sink), window_(window) {}
  KeyRange key_range(long i) const override { return {0, p_.position(i)}; }
  bool has_holes() const override { return true; }
  bool visible(int, long i, long j) const override { return j < sink_ || j >= p_.position(i) - window_; }
  // Visible keys are j < sink and j >= p - window: two fills.
  void mark_holes(int, long i, long j0, long j1, uint8_t* out) const override {
    const long gap_lo = std::clamp(sink_, j0, j1), gap_hi = std::clamp(p_.position(i) - window_, gap_lo, j1);
    std::fill(out, out + (gap_lo - j0), uint8_t{1});
    std::fill(out + (gap_lo - j0), out + (gap_hi - j0), uint8_t{0});
    std::fill(out + (gap_hi - j0), out + (j1 - j0), uint8_t{1});
  }
  // The hole of row i is [sink, p - window - 1]: it grows with i, so the last row bounds
  // fullness and the first row bounds emptiness.
  TileKind classify_holes(int, long i0, long i1, long j0, long j1) const override {
    const long first_hole_end = p_.position(i0) - window_ - 1, last_hole_end = p_.position(i1 - 1) - window_ - 1;
    if (j0 >= sink_ && j1 - 1 <= first_hole_end) return TileKind::empty;
    const bool misses_hole = j1 - 1 < sink_ || j0 > last_hole_end || sink_ > last_hole_end;
    return misses_hole ? TileKind::full : TileKind::partial;
  }

 private:
  const Problem& p_;
  long sink_, window_;
};

class Sink final : public MaskedSoftmaxVariant {
 public:
  Sink(long sink, long window) : sink_(sink), window_(window) {}
  std::unique_ptr<AttentionMask> make_mask(const Problem& p) const override {
    return std::make_unique<SinkMask>(p, sink_, window_);
  }
  // Never a key after the query's position; before it, the sinks and the recent window.
  Rule rule(const Problem& p) const override {
    return [shift = static_cast<long>(p.Nk) - p.Nq, sink = sink_, window = window_](int, long i, long j) {
      const long pos = i + shift;
      return j <= pos && (j < sink || j >= pos - window);
    };
  }

 private:
  long sink_, window_;
};
}  // namespace

VariantInfo variant_info_sink() {
  return {"sink",
          "attention sinks (StreamingLLM): the first `sink` keys plus keys p-window..p",
          {{"sink", "4", "number of leading keys every query sees"},
           {"window", "256", "recent keys before the query's position (inclusive: window+1 keys with itself)"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            return std::make_unique<Sink>(o.get_int("sink", 0, 1L << 40), o.get_int("window", 0, 1L << 40));
          },
          true};
}

}  // namespace attn
