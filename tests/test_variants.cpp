// Every registered variant x every ISA this CPU has x odd shapes, against the variant's own
// float64 reference. New variants are picked up from the registry with their default options.
#include <doctest/doctest.h>

#include "test_util.hpp"

using namespace attn;

namespace {
struct Shape {
  int B, H, Hkv, Nq, Nk, D;
};
// N=1, N not a multiple of any tile, D in {1, 40, 80, 256}, Nq != Nk both ways, GQA.
const Shape kShapes[] = {
    {1, 1, 1, 1, 1, 1},      {1, 2, 1, 1, 37, 40},   {2, 4, 2, 77, 77, 80},   {1, 1, 1, 130, 65, 256},
    {1, 3, 1, 65, 200, 16},  {2, 2, 2, 129, 129, 1}, {1, 4, 4, 200, 31, 40},  {1, 1, 1, 64, 64, 64},
};
}  // namespace

TEST_CASE("every variant on every ISA matches its float64 reference") {
  for (const auto& info : variant_registry()) {
    const auto variant = make_variant(info.name);
    for (const Shape& s : kShapes)
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 7);
        if (!variant->unsupported_reason(in.p).empty()) continue;
        const auto ref = test::reference(*variant, in);
        for (Isa isa : supported_isas()) {
          CAPTURE(info.name);
          CAPTURE(isa_name(isa));
          INFO("Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " H=", s.H, " Hkv=", s.Hkv, " causal=", causal);
          CHECK(test::rel_err(test::run(*variant, in, isa), ref) < 1e-5);
        }
      }
  }
}
