// The engine's partial-tile paths on every ISA, against the float64 reference of the same mask:
// bands (one interval per row, including rows that see nothing) and masks with holes (the
// per-element path), shared by all heads or different per head.
#include <doctest/doctest.h>

#include <functional>
#include <utility>

#include "masked_softmax_variant.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {

// Row i sees keys [i - left, i + right] (a band: both ends nondecreasing in i).
class BandMask final : public AttentionMask {
 public:
  BandMask(long left, long right) : left_(left), right_(right) {}
  KeyRange key_range(long i) const override { return {i - left_, i + right_}; }

 private:
  long left_, right_;
};

// Pseudo-random holes inside a wide band, per head if per_head.
class HoleMask final : public AttentionMask {
 public:
  explicit HoleMask(int heads) : heads_(heads) {}
  KeyRange key_range(long i) const override { return {i - 150, i + 90}; }
  bool has_holes() const override { return true; }
  bool visible(int h, long i, long j) const override {
    const unsigned long x = static_cast<unsigned long>(i * 7919 + j * 104729 + h * 15485863);
    return (x ^ (x >> 7)) % 5 != 0 && !(i >= 64 && i < 80);  // rows 64..79 see nothing
  }
  int layout_heads() const override { return heads_; }

 private:
  int heads_;
};

class MaskVariant final : public MaskedSoftmaxVariant {
 public:
  explicit MaskVariant(std::function<std::unique_ptr<AttentionMask>(const Problem&)> make) : make_(std::move(make)) {}
  std::unique_ptr<AttentionMask> make_mask(const Problem& p) const override { return make_(p); }
  // These test masks are their own rule: the band plus the holes.
  Rule rule(const Problem& p) const override {
    std::shared_ptr<const AttentionMask> m = make_(p);
    return [m](int h, long i, long j) {
      const KeyRange r = m->key_range(i);
      return j >= r.lo && j <= r.hi && (!m->has_holes() || m->visible(h, i, j));
    };
  }

 private:
  std::function<std::unique_ptr<AttentionMask>(const Problem&)> make_;
};

void check_all_isas(const MaskVariant& v, const test::Inputs& in) {
  const auto ref = test::reference(v, in);
  for (Isa isa : supported_isas()) {
    CAPTURE(isa_name(isa));
    const auto out = test::run(v, in, isa);
    CHECK(test::rel_err(out, ref) < 1e-5);
  }
}

}  // namespace

TEST_CASE("engine: band masks (interval rows, empty rows, narrow and wide) on every ISA") {
  for (auto [left, right] : {std::pair<long, long>{0, 0}, {5, 0}, {70, 3}, {200, 130}}) {
    const MaskVariant v([l = left, r = right](const Problem&) { return std::make_unique<BandMask>(l, r); });
    for (bool causal : {false, true}) {
      INFO("left=", left, " right=", right, " causal=", causal);
      check_all_isas(v, test::make_inputs(1, 2, 1, 203, 203, 40, causal, 3));
      check_all_isas(v, test::make_inputs(1, 1, 1, 130, 130, 129, causal, 4));
      // Nq > Nk: under causal the first 53 rows see no key and must come out as zeros.
      check_all_isas(v, test::make_inputs(1, 1, 1, 203, 150, 16, causal, 8));
    }
  }
}

TEST_CASE("engine: masks with holes, shared and per head, on every ISA") {
  for (int heads : {1, 3}) {
    const MaskVariant v([heads](const Problem&) { return std::make_unique<HoleMask>(heads); });
    for (bool causal : {false, true}) {
      INFO("layout heads=", heads, " causal=", causal);
      check_all_isas(v, test::make_inputs(1, 3, 1, 190, 190, 24, causal, 5));
      check_all_isas(v, test::make_inputs(2, 3, 3, 77, 77, 80, causal, 6));
    }
  }
}
