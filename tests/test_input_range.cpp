// The shared float32 range check (variants/input_range.hpp): inputs whose scores or sums could
// overflow are refused for every variant, and large inputs below the bound give the float64
// answer on every ISA (not a row of zeros).
#include <doctest/doctest.h>

#include <cmath>

#include "errors.hpp"
#include "input_range.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
constexpr int B = 1, H = 2, Hkv = 1, N = 70, D = 16;

void fill_row(std::vector<float>& x, int head, int row, float value) {
  for (int d = 0; d < D; ++d) x[(static_cast<std::size_t>(head) * N + row) * D + d] = value;
}
}  // namespace

TEST_CASE("a query row and a key row of 1e30 are refused by every variant") {
  for (const auto& info : variant_registry()) {
    const auto variant = make_variant(info.name);
    auto in = test::make_inputs(B, H, Hkv, N, N, D, false, 3);
    fill_row(in.q, 0, 5, 1e30f);
    fill_row(in.k, 0, 9, 1e30f);
    CAPTURE(info.name);
    // A variant whose intermediates do not grow with Q and K (synthesizer reads neither) accepts them.
    if (variant->intermediate_bound(in.p, {1e30, 1e30, 1.0}) < kFloat32SafeBound) {
      CHECK_NOTHROW(check_input_range(*variant, in.p, in.tensors()));
      continue;
    }
    CHECK_THROWS_WITH_AS(check_input_range(*variant, in.p, in.tensors()), doctest::Contains("inputs overflow float32"),
                         UserError);
  }
}

TEST_CASE("values whose P.V sums could overflow are refused; ordinary inputs pass") {
  for (const auto& info : variant_registry()) {
    const auto variant = make_variant(info.name);
    auto in = test::make_inputs(B, H, Hkv, N, N, D, true, 4);
    CAPTURE(info.name);
    CHECK_NOTHROW(check_input_range(*variant, in.p, in.tensors()));
    in.v[7] = 1e36f;
    CHECK_THROWS_AS(check_input_range(*variant, in.p, in.tensors()), UserError);
  }
}

TEST_CASE("large scores below the bound give the float64 answer on every variant and ISA") {
  // Row 5 of head 0 scores ~1e15 against every key: its softmax is one-hot on its best key.
  for (const auto& info : variant_registry()) {
    const auto variant = make_variant(info.name);
    for (bool causal : {false, true}) {
      auto in = test::make_inputs(B, H, Hkv, N, N, D, causal, 5);
      for (int d = 0; d < D; ++d) in.q[5 * D + d] *= 1e15f;
      if (!variant->unsupported_reason(in.p).empty()) continue;
      REQUIRE_NOTHROW(check_input_range(*variant, in.p, in.tensors()));
      const auto ref = test::reference(*variant, in);
      for (Isa isa : supported_isas()) {
        CAPTURE(info.name);
        CAPTURE(causal);
        CAPTURE(isa_name(isa));
        CHECK(test::rel_err(test::run(*variant, in, isa), ref) < 1e-4);
      }
    }
  }
}
