// dense and naive against the independent SPEC reference, including rows that see nothing.
#include <doctest/doctest.h>

#include "independent_reference.hpp"

using namespace attn;

TEST_CASE("dense and naive match the SPEC reference on odd shapes, every ISA") {
  struct Case {
    int B, H, Hkv, Nq, Nk, D;
    bool causal;
  };
  const Case cases[] = {
      {1, 1, 1, 1, 1, 1, false},    {1, 1, 1, 1, 300, 40, true},  {2, 6, 2, 100, 100, 80, true},
      {1, 2, 1, 300, 100, 24, true},  // Nq > Nk, causal: the first 200 rows see no key
      {1, 1, 1, 33, 257, 256, false}, {1, 8, 1, 70, 70, 3, true},    // MQA
  };
  for (const char* name : {"dense", "naive"}) {
    const auto v = make_variant(name);
    for (const Case& c : cases) {
      auto in = test::make_inputs(c.B, c.H, c.Hkv, c.Nq, c.Nk, c.D, c.causal, 11);
      const auto ref = test::spec_attention(in);
      for (Isa isa : supported_isas()) {
        INFO(name, " ", isa_name(isa), " Nq=", c.Nq, " Nk=", c.Nk, " D=", c.D);
        const auto out = test::run(*v, in, isa);
        CHECK(test::rel_err(out, ref) < 1e-5);
        if (c.causal && c.Nq > c.Nk) {  // rows before the first key are exactly zero, never NaN
          bool zeros = true;
          for (long i = 0; i < c.Nq - c.Nk; ++i)
            for (int d = 0; d < c.D; ++d) zeros = zeros && out[i * c.D + d] == 0.0f;
          CHECK(zeros);
        }
      }
    }
  }
}

TEST_CASE("lengths: padded rows are zero, real rows match the item computed alone") {
  auto in = test::make_inputs(3, 2, 1, 150, 150, 40, true, 5);
  in.lens = {150, 1, 77};
  in.p.lens = in.lens;
  const auto ref = test::spec_attention(in);
  const auto v = make_variant("dense");
  for (Isa isa : supported_isas()) {
    CAPTURE(isa_name(isa));
    CHECK(test::rel_err(test::run(*v, in, isa), ref) < 1e-5);
  }
}

TEST_CASE("dense is deterministic and thread-count independent") {
  auto in = test::make_inputs(1, 3, 1, 333, 333, 64, true, 9);
  const auto v = make_variant("dense");
  const auto a = test::run(*v, in, best_isa());
  const auto b = test::run(*v, in, best_isa());
  CHECK(a == b);
}
