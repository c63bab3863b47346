// Non-finite inputs through the library (the CLI refuses them up front): a NaN or Inf in one
// query row must never reach another row's output, on every variant and ISA (another head's, for
// variants that mix query rows). A NaN in a key or
// value may poison the rows of its own (batch, kv-head) group, never another group.
#include <doctest/doctest.h>

#include <cmath>

#include "test_util.hpp"

using namespace attn;

namespace {
constexpr int B = 2, H = 4, Hkv = 2, N = 97, D = 24;

std::size_t row_offset(int b, int h, int i, int heads, int rows) {
  return ((static_cast<std::size_t>(b) * heads + h) * rows + i) * D;
}

// True if rows other than those for which `skip(b, h, i)` holds match `clean` and are finite.
template <class Skip>
bool other_rows_unchanged(const std::vector<float>& out, const std::vector<float>& clean, Skip skip) {
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < N; ++i) {
        if (skip(b, h, i)) continue;
        const std::size_t o = row_offset(b, h, i, H, N);
        for (int d = 0; d < D; ++d) {
          const float x = out[o + d], c = clean[o + d];
          if (!std::isfinite(x) || std::abs(x - c) > 1e-6f * (1.0f + std::abs(c))) return false;
        }
      }
  return true;
}
}  // namespace

TEST_CASE("a NaN or Inf in one query row stays in that row, for every variant and ISA") {
  for (const auto& info : variant_registry()) {
    const auto variant = make_variant(info.name);
    for (bool causal : {false, true}) {
      auto in = test::make_inputs(B, H, Hkv, N, N, D, causal, 11);
      if (!variant->unsupported_reason(in.p).empty()) continue;
      for (Isa isa : supported_isas()) {
        CAPTURE(info.name);
        CAPTURE(isa_name(isa));
        CAPTURE(causal);
        const auto clean = test::run(*variant, in, isa);
        auto bad = in;
        bad.q[row_offset(1, 2, 40, H, N) + 3] = NAN;       // one NaN element
        bad.q[row_offset(0, 1, 0, H, N) + 0] = INFINITY;   // first row of a head
        bad.q[row_offset(0, 3, N - 1, H, N) + D - 1] = -INFINITY;  // last row
        const auto out = test::run(*variant, bad, isa);
        // Variants that mix query rows (nystrom's landmarks) may poison the row's whole head.
        const bool heads = variant->mixes_query_rows();
        CHECK(other_rows_unchanged(out, clean, [heads](int b, int h, int i) {
          if (heads) return (b == 1 && h == 2) || (b == 0 && h == 1) || (b == 0 && h == 3);
          return (b == 1 && h == 2 && i == 40) || (b == 0 && h == 1 && i == 0) || (b == 0 && h == 3 && i == N - 1);
        }));
      }
    }
  }
}

TEST_CASE("a NaN in a key or value row stays inside its (batch, kv-head) group") {
  for (const auto& info : variant_registry()) {
    const auto variant = make_variant(info.name);
    auto in = test::make_inputs(B, H, Hkv, N, N, D, false, 12);
    if (!variant->unsupported_reason(in.p).empty()) continue;
    for (Isa isa : supported_isas()) {
      CAPTURE(info.name);
      CAPTURE(isa_name(isa));
      const auto clean = test::run(*variant, in, isa);
      auto bad = in;
      bad.k[row_offset(1, 0, 50, Hkv, N) + 2] = NAN;  // batch 1, kv head 0: query heads 0 and 1
      bad.v[row_offset(1, 0, 60, Hkv, N) + 5] = INFINITY;
      const auto out = test::run(*variant, bad, isa);
      CHECK(other_rows_unchanged(out, clean, [](int b, int h, int) { return b == 1 && h / (H / Hkv) == 0; }));
    }
  }
}
