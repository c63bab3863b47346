// dilated: a dilated sliding window (Longformer's dilated heads). Query row i at position
// p = i + (Nk - Nq) sees keys p - left <= j <= p + right (inclusive, -1 unbounded) with
// (p - j) divisible by `dilation`. The window is the key_range; the skipped keys are holes.
#include <algorithm>
#include <climits>

#include "masked_softmax_variant.hpp"

namespace attn {

namespace {
long floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

class DilatedMask final : public AttentionMask {
 public:
  DilatedMask(const Problem& p, long left, long right, long dilation)
      : p_(p), left_(left), right_(right), dilation_(dilation) {}
  KeyRange key_range(long i) const override {
    const long pos = p_.position(i);
    return {left_ < 0 ? 0 : pos - left_, right_ < 0 ? LONG_MAX : pos + right_};
  }
  bool has_holes() const override { return dilation_ > 1; }
  bool visible(int, long i, long j) const override { return (p_.position(i) - j) % dilation_ == 0; }
  // Every dilation-th key from the first j >= j0 with (p - j) % dilation == 0.
  void mark_holes(int, long i, long j0, long j1, uint8_t* out) const override {
    std::fill(out, out + (j1 - j0), uint8_t{0});
    const long pos = p_.position(i);
    const long first = j0 + ((pos - j0) % dilation_ + dilation_) % dilation_;
    for (long j = first; j < j1; j += dilation_) out[j - j0] = 1;
  }
  // Over the tile, p - j takes every integer in [lo, hi]; some is a multiple of dilation iff
  // the largest multiple <= hi is >= lo. Only a single element can be full (dilation > 1).
  TileKind classify_holes(int, long i0, long i1, long j0, long j1) const override {
    const long lo = p_.position(i0) - (j1 - 1), hi = p_.position(i1 - 1) - j0;
    if (floor_div(hi, dilation_) * dilation_ < lo) return TileKind::empty;
    return lo == hi ? TileKind::full : TileKind::partial;
  }

 private:
  const Problem& p_;
  long left_, right_, dilation_;
};

class Dilated final : public MaskedSoftmaxVariant {
 public:
  Dilated(long left, long right, long dilation) : left_(left), right_(right), dilation_(dilation) {}
  std::unique_ptr<AttentionMask> make_mask(const Problem& p) const override {
    return std::make_unique<DilatedMask>(p, left_, right_, dilation_);
  }
  Rule rule(const Problem& p) const override {
    return [shift = static_cast<long>(p.Nk) - p.Nq, left = left_, right = right_, d = dilation_](int, long i, long j) {
      const long pos = i + shift;
      const bool in_window = (left < 0 || j >= pos - left) && (right < 0 || j <= pos + right);
      return in_window && ((pos - j) % d + d) % d == 0;
    };
  }

 private:
  long left_, right_, dilation_;
};
}  // namespace

VariantInfo variant_info_dilated() {
  return {"dilated",
          "dilated sliding window: keys p-left..p+right whose distance to p is a multiple of dilation",
          {{"left", "256", "keys reachable before the query's position (-1: unbounded)"},
           {"right", "0", "keys reachable after the query's position (-1: unbounded)"},
           {"dilation", "2", "keep every dilation-th key, counted from the query's position"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            return std::make_unique<Dilated>(o.get_int("left", -1, 1L << 40), o.get_int("right", -1, 1L << 40),
                                             o.get_int("dilation", 1, 1L << 40));
          },
          true};
}

}  // namespace attn
