// The engine's log-sum-exp output (what split-KV merges and the backward pass need): every
// implementation, odd shapes, Nq != Nk both ways, GQA, causal, lengths, a window that leaves
// rows with no key, against ln sum_j e^(scale q.k_j) in float64.
#include <doctest/doctest.h>

#include <cmath>

#include "masked_softmax_variant.hpp"
#include "impl_list.hpp"
#include "reference.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
struct Shape {
  int B, H, Hkv, Nq, Nk, D;
  bool causal;
  std::vector<int> lens;
};
}  // namespace

TEST_CASE("every flash implementation writes the float64 log-sum-exp, -inf where a row sees no key") {
  const std::vector<Shape> shapes = {
      {1, 1, 1, 1, 1, 1, false, {}},       {2, 4, 2, 70, 130, 40, true, {}},   {1, 3, 1, 130, 70, 17, true, {}},
      {1, 8, 2, 1, 1000, 64, true, {}},    {2, 6, 1, 16, 700, 24, true, {}},   {1, 4, 4, 5, 333, 128, false, {}},
      {2, 2, 1, 9, 9, 16, true, {9, 4}},
      {1, 2, 2, 100, 100, 64, false, {}},  {3, 2, 1, 90, 90, 8, true, {90, 1, 45}}, {1, 1, 1, 200, 33, 256, false, {}},
  };
  // window:left=5,right=0 with Nq > Nk leaves the first rows (negative positions) with no key.
  for (const char* spec : {"dense", "window:left=5,right=0", "block_sparse:pattern=random,block=16,random=1"}) {
    const auto variant = make_variant(spec);
    for (const Shape& s : shapes) {
      auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, s.causal, 7);
      in.p.lens = s.lens;
      std::vector<double> ref(static_cast<std::size_t>(s.B) * s.H * s.Nq);
      int layout_heads = 1;
      {
        const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
        REQUIRE(masked);
        const auto mask = masked->make_mask(in.p);
        const VisibleKeys keys(in.p, *mask);
        layout_heads = keys.layout_heads();
        std::vector<double> w(s.Nk);
        for (int b = 0; b < s.B; ++b)
          for (int h = 0; h < s.H; ++h)
            for (int i = 0; i < s.Nq; ++i)
              ref[(static_cast<std::size_t>(b) * s.H + h) * s.Nq + i] =
                  reference_softmax_weights(in.p, in.tensors(), keys, b, h, i, w.data());
      }
      const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
      for (const FlashForwardImpl& impl : flash_forward_impls()) {
        if (!impl.supports(in.p)) continue;
        CAPTURE(std::string(spec));
        CAPTURE(impl.name);
        CAPTURE(s.Nq);
        CAPTURE(s.Nk);
        auto plan = masked->plan_with(in.p, impl);
        REQUIRE(plan->impl() == decode_impl_name(impl, in.p, layout_heads));  // impl.name but for decode's tile
        REQUIRE(plan->gives_lse());
        std::vector<float> out(in.p.q_elems()), lse(ref.size(), 12345.0f);
        plan->run(in.tensors(), {out.data(), lse.data()});
        int wrong = 0, empty_rows = 0;
        for (std::size_t r = 0; r < ref.size(); ++r) {
          if (std::isinf(ref[r])) {
            ++empty_rows;
            wrong += !(std::isinf(lse[r]) && lse[r] < 0);
            continue;
          }
          // float32 scores carry ~D u |q||k| of error; a few 1e-6 relative to the row's size.
          wrong += !(std::abs(lse[r] - ref[r]) <= 2e-5 * (1.0 + std::abs(ref[r])));
        }
        CHECK(wrong == 0);
        // Causal rows at negative positions (Nq > Nk) see no key; dense rows otherwise all do.
        if (std::string(spec) == "dense" && s.lens.empty())
          CHECK(empty_rows == (s.causal && s.Nq > s.Nk ? s.B * s.H * (s.Nq - s.Nk) : 0));
      }
    }
  }
}
