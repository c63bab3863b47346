// The decode path (kernels/decode_attention.hpp) on every ISA: GQA and MQA groups served from one
// pass over K and V, split-KV with its exact merge (thread counts that force 1 to 8 splits), and
// every mask a decode can meet (causal bottom-right, window, sink, dilated, per-head block
// layouts), output and log-sum-exp against float64.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>

#include "impl_list.hpp"
#include "masked_softmax_variant.hpp"
#include "reference.hpp"
#include "test_util.hpp"

using namespace attn;

TEST_CASE("decode: every decode implementation, split or not, matches float64 output and log-sum-exp") {
  struct Shape {
    int B, H, Hkv, Nq, Nk, D;
  };
  const Shape shapes[] = {{1, 8, 1, 1, 2000, 32}, {1, 8, 2, 4, 777, 40}, {2, 4, 1, 16, 1500, 64}, {1, 2, 2, 1, 65, 8}};
  const int saved = omp_get_max_threads();
  for (const char* spec : {"dense", "window:left=300,right=0", "sink:sink=4,window=100", "dilated:left=500,dilation=3",
                           "block_sparse:pattern=bigbird,block=32,random=1"}) {
    const auto variant = make_variant(spec);
    const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
    REQUIRE(masked);
    for (const Shape& s : shapes)
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 31);
        const auto ref = test::reference(*variant, in);
        std::vector<double> ref_lse(static_cast<std::size_t>(s.B) * s.H * s.Nq);
        {
          const auto mask = masked->make_mask(in.p);
          const VisibleKeys keys(in.p, *mask);
          std::vector<double> w(s.Nk);
          for (std::size_t r = 0; r < ref_lse.size(); ++r)
            ref_lse[r] = reference_softmax_weights(in.p, in.tensors(), keys, static_cast<int>(r / (s.H * s.Nq)),
                                                   static_cast<int>(r / s.Nq % s.H), static_cast<long>(r % s.Nq),
                                                   w.data());
        }
        for (int threads : {1, 3, 8}) {
          omp_set_num_threads(threads);
          for (const FlashForwardImpl& impl : flash_forward_impls()) {
            if (impl.name.find("decode") == std::string::npos || !impl.supports(in.p)) continue;
            CAPTURE(std::string(spec));
            CAPTURE(impl.name);
            INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " causal=", causal,
                 " threads=", threads);
            auto plan = masked->plan_with(in.p, impl);
            std::vector<float> out(in.p.q_elems()), lse(ref_lse.size());
            plan->run(in.tensors(), {out.data(), lse.data()});
            CHECK(test::rel_err(out, ref) < 1e-5);
            int wrong = 0;
            for (std::size_t r = 0; r < lse.size(); ++r)
              wrong += std::isinf(ref_lse[r]) ? !(std::isinf(lse[r]) && lse[r] < 0)
                                              : !(std::abs(lse[r] - ref_lse[r]) <= 2e-5 * (1 + std::abs(ref_lse[r])));
            CHECK(wrong == 0);
          }
        }
      }
  }
  omp_set_num_threads(saved);
}

TEST_CASE("decode is what the implementation list picks for few queries, the prefill engine otherwise") {
  const auto variant = make_variant("dense");
  auto in = test::make_inputs(1, 4, 1, kDecodeMaxQ, 300, 16, true, 1);
  CHECK(variant->plan(in.p, best_isa())->impl().find("f32-decode-splitkv-") == 0);
  in = test::make_inputs(1, 4, 1, kDecodeMaxQ + 1, 300, 16, true, 1);
  CHECK(variant->plan(in.p, best_isa())->impl().find("f32-flash-") == 0);
}
