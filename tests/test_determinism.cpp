// Determinism: the same inputs and thread count give bitwise the same output; other thread
// counts agree with it within the accuracy bar. Every variant (default options) x every ISA.
#include <doctest/doctest.h>
#include <omp.h>

#include <cstring>

#include "test_util.hpp"

using namespace attn;

namespace {
bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Restores the OpenMP thread count when a test ends, even on failure.
struct ThreadCountGuard {
  int saved = omp_get_max_threads();
  ~ThreadCountGuard() { omp_set_num_threads(saved); }
};
}  // namespace

TEST_CASE("same threads: bitwise identical; other thread counts: within the accuracy bar") {
  ThreadCountGuard guard;
  for (const auto& info : variant_registry()) {
    const auto variant = make_variant(info.name);
    for (bool causal : {false, true}) {
      // B*H = 6 work items and 3 query tiles, so 2 and 3 threads split the work differently.
      auto in = test::make_inputs(2, 3, 1, 150, 150, 40, causal, 5);
      if (!variant->unsupported_reason(in.p).empty()) continue;
      for (Isa isa : supported_isas()) {
        CAPTURE(info.name);
        CAPTURE(isa_name(isa));
        CAPTURE(causal);
        omp_set_num_threads(1);
        const auto one = test::run(*variant, in, isa);
        CHECK(bitwise_equal(one, test::run(*variant, in, isa)));
        for (int threads : {2, 3}) {
          CAPTURE(threads);
          omp_set_num_threads(threads);
          const auto first = test::run(*variant, in, isa);
          CHECK(bitwise_equal(first, test::run(*variant, in, isa)));
          std::vector<double> as_double(one.begin(), one.end());
          CHECK(test::rel_err(first, as_double) < 1e-5);
        }
      }
    }
  }
}
