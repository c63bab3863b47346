// Every mask-defined variant in the registry (defaults and edge-case options) against its own
// plain rule (MaskedSoftmaxVariant::rule), on the shapes where off-by-one rules hide: Nq != Nk
// both ways (negative positions), N not a multiple of the block or tile, one query, one key,
// lengths, causal. Checked three ways: the mask element by element, visible_pairs, and the
// engine's output on every implementation against tests/independent_reference.hpp applying the
// rule (causal, bottom-right alignment and lengths written again there).
#include <doctest/doctest.h>

#include "impl_list.hpp"
#include "independent_reference.hpp"
#include "masked_softmax_variant.hpp"

using namespace attn;

namespace {
struct Shape {
  int B, H, Hkv, Nq, Nk;
  std::vector<int> lens;
};
const Shape kShapes[] = {
    {1, 2, 1, 70, 130, {}}, {1, 2, 1, 130, 70, {}}, {1, 1, 1, 1, 97, {}},
    {1, 1, 1, 97, 1, {}},   {2, 3, 3, 77, 77, {77, 30}}, {1, 2, 2, 150, 150, {}},
    // Decode shapes (GQA groups sharing one pass, split-KV when B x Hkv is below the threads).
    {1, 4, 1, 3, 300, {}},  {2, 6, 2, 16, 257, {}}, {1, 2, 1, 1, 1000, {}}, {2, 2, 2, 12, 12, {12, 5}},
};

// Registry defaults, then options that put the rules' edges inside these shapes.
std::vector<std::string> specs() {
  std::vector<std::string> out;
  for (const auto& info : variant_registry()) out.push_back(info.name);
  for (const char* s : {"window:left=5,right=3", "window:left=0,right=0", "window:left=-1,right=2",
                        "window:left=17,right=-1", "sink:sink=3,window=7", "sink:sink=0,window=0",
                        "dilated:left=20,right=5,dilation=3", "dilated:left=-1,right=-1,dilation=4",
                        "block_sparse:pattern=local,block=16", "block_sparse:pattern=bigbird,block=16,random=1,seed=3",
                        "block_sparse:pattern=strided,block=8,stride=3", "block_sparse:pattern=fixed,block=8,stride=4",
                        "block_sparse:pattern=longformer,block=13", "block_sparse:pattern=random,block=10,random=2"})
    out.push_back(s);
  return out;
}
}  // namespace

TEST_CASE("every mask variant's plan, mask and engine follow its own rule at the edges") {
  for (const std::string& spec : specs()) {
    const auto variant = make_variant(spec);
    const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
    if (!masked || masked->data_dependent()) continue;  // linear has no mask; block_topk: test_block_topk.cpp
    for (const Shape& s : kShapes)
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, 8, causal, 21);
        in.lens = s.lens, in.p.lens = s.lens;
        if (!variant->unsupported_reason(in.p).empty()) continue;
        CAPTURE(spec);
        INFO("Nq=", s.Nq, " Nk=", s.Nk, " causal=", causal, " lens=", s.lens.size());
        const auto rule = masked->rule(in.p);
        const auto mask = masked->make_mask(in.p);
        const VisibleKeys keys(in.p, *mask);
        // The mask, element by element (causal, lengths and alignment applied here).
        long mismatches = 0;
        double pairs = 0;
        for (int b = 0; b < s.B; ++b)
          for (int h = 0; h < s.H; ++h)
            for (long i = 0; i < in.p.valid_q(b); ++i) {
              const long pos = i + (static_cast<long>(s.Nk) - s.Nq);
              for (long j = 0; j < in.p.valid_k(b); ++j) {
                const bool expected = rule(h, i, j) && !(causal && j > pos);
                pairs += expected;
                mismatches += expected != keys.visible(h, i, j);
              }
            }
        CHECK(mismatches == 0);
        CHECK(variant->visible_pairs(in.p) == doctest::Approx(pairs));
        // The engine (plan, tile classes, bands, holes) on every implementation.
        const auto ref = test::spec_attention(in, [&](int h, long i, long j) { return rule(h, i, j); });
        if (!variant->uses_isa()) {
          CHECK(test::rel_err(test::run(*variant, in, best_isa()), ref) < 1e-5);
          continue;
        }
        for (const FlashForwardImpl& impl : flash_forward_impls()) {
          if (!impl.supports(in.p)) continue;
          CAPTURE(impl.name);
          std::vector<float> out(in.p.q_elems());
          masked->plan_with(in.p, impl)->run(in.tensors(), {out.data(), nullptr});
          CHECK(test::rel_err(out, ref) < 1e-5);
        }
      }
  }
}
