// window: sliding-window attention. Query row i at position p = i + (Nk - Nq) sees keys
// p - left <= j <= p + right (inclusive; -1 = unbounded on that side). The band is a
// key_range with no holes, so tiles fully inside it run unmasked and tiles outside are skipped.
#include <climits>

#include "masked_softmax_variant.hpp"

namespace attn {

namespace {
constexpr long kMaxReach = 1L << 40;  // keeps p + right far from overflow

class WindowMask final : public AttentionMask {
 public:
  WindowMask(const Problem& p, long left, long right) : p_(p), left_(left), right_(right) {}
  KeyRange key_range(long i) const override {
    const long pos = p_.position(i);
    return {left_ < 0 ? 0 : pos - left_, right_ < 0 ? LONG_MAX : pos + right_};
  }

 private:
  const Problem& p_;
  long left_, right_;
};

class Window final : public MaskedSoftmaxVariant {
 public:
  Window(long left, long right) : left_(left), right_(right) {}
  std::unique_ptr<AttentionMask> make_mask(const Problem& p) const override {
    return std::make_unique<WindowMask>(p, left_, right_);
  }
  Rule rule(const Problem& p) const override {
    return [shift = static_cast<long>(p.Nk) - p.Nq, left = left_, right = right_](int, long i, long j) {
      const long pos = i + shift;
      return (left < 0 || j >= pos - left) && (right < 0 || j <= pos + right);
    };
  }

 private:
  long left_, right_;
};
}  // namespace

VariantInfo variant_info_window() {
  return {"window",
          "sliding-window attention: row at position p sees keys p-left..p+right (inclusive)",
          {{"left", "256", "keys visible before the query's position (-1: unbounded); left=W,right=0 sees W+1 keys"},
           {"right", "0", "keys visible after the query's position (-1: unbounded)"}},
          [](const Options& o) -> std::unique_ptr<Variant> {
            return std::make_unique<Window>(o.get_int("left", -1, kMaxReach), o.get_int("right", -1, kMaxReach));
          },
          true};
}

}  // namespace attn
