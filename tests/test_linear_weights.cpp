// Linear attention's implied weights (`run --weights`): non-negative, each row sums to 1, equal to
// phi(q_i).phi(k_j) / sum_j' phi(q_i).phi(k_j') written here in float64, and sum_j w_ij v_j
// reproduces the variant's own reference output (which adds eps to the denominator).
#include <doctest/doctest.h>

#include <cmath>

#include "cli_util.hpp"
#include "test_util.hpp"
#include "variant.hpp"

using namespace attn;

namespace {
double elu1(double x) { return x > 0 ? x + 1 : std::exp(x); }

// The formula, for elu1: weights of row i of (b, h) over the Nk keys.
std::vector<double> expected_row(const test::Inputs& in, int b, int h, long i) {
  const Problem& p = in.p;
  std::vector<double> w(p.Nk, 0.0);
  if (i >= p.valid_q(b)) return w;
  const long end = p.causal ? i + 1 : p.valid_k(b);
  const float* q = &in.q[((static_cast<long>(b) * p.H + h) * p.Nq + i) * p.D];
  const float* k = &in.k[(static_cast<long>(b) * p.Hkv + p.kv_head(h)) * p.Nk * p.D];
  double total = 0;
  for (long j = 0; j < end; ++j) {
    for (int d = 0; d < p.D; ++d) w[j] += elu1(q[d]) * elu1(k[j * p.D + d]);
    total += w[j];
  }
  for (double& x : w) x /= total;
  return w;
}
}  // namespace

TEST_CASE("linear weights: >= 0, rows sum to 1, match the float64 formula and the reference output") {
  for (const std::string spec : {"linear", "linear:map=favor,features=24,seed=3", "linear:map=relu"})
    for (bool causal : {false, true})
      for (bool with_lens : {false, true}) {
        CAPTURE(spec);
        CAPTURE(causal);
        CAPTURE(with_lens);
        auto in = test::make_inputs(2, 4, 2, 45, 45, 6, causal, 17);
        if (with_lens) {
          in.lens = {45, 19};
          in.p.lens = in.lens;
        }
        const Problem& p = in.p;
        const auto variant = make_variant(spec);
        REQUIRE(variant->has_weights());
        const std::vector<int> heads = {3, 0};
        const std::vector<long> rows = test::all_rows(p);
        const long nh = 2, nr = p.Nq;
        std::vector<float> w(static_cast<std::size_t>(p.B) * nh * nr * p.Nk, NAN);
        variant->weights(p, in.tensors(), heads, rows, w.data());
        const auto ref = test::reference(*variant, in);

        double worst_formula = 0, worst_sum = 0, worst_output = 0, lowest = 0;
        long zero_rows = 0;
        for (int b = 0; b < p.B; ++b)
          for (long hi = 0; hi < nh; ++hi)
            for (long i = 0; i < nr; ++i) {
              const float* row = &w[((b * nh + hi) * nr + i) * p.Nk];
              const auto expected = expected_row(in, b, heads[hi], i);
              double sum = 0;
              std::vector<double> o(p.D, 0.0);
              for (long j = 0; j < p.Nk; ++j) {
                sum += row[j];
                lowest = std::min(lowest, static_cast<double>(row[j]));
                if (spec == "linear") worst_formula = std::max(worst_formula, std::abs(row[j] - expected[j]));
                const float* v = &in.v[((static_cast<long>(b) * p.Hkv + p.kv_head(heads[hi])) * p.Nk + j) * p.D];
                for (int d = 0; d < p.D; ++d) o[d] += row[j] * static_cast<double>(v[d]);
              }
              const bool padded = i >= p.valid_q(b);
              if (!padded && sum == 0) ++zero_rows;  // relu: every feature of q_i is 0
              else worst_sum = std::max(worst_sum, std::abs(sum - (padded ? 0.0 : 1.0)));
              const double* r = &ref[((static_cast<long>(b) * p.H + heads[hi]) * p.Nq + i) * p.D];
              for (int d = 0; d < p.D; ++d) worst_output = std::max(worst_output, std::abs(o[d] - r[d]));
            }
        CHECK(lowest >= 0.0);
        CHECK(worst_sum < 1e-5);
        CHECK(worst_formula < 1e-6);
        // favor's features are tiny (stabilised by exp(-max)), so the forward's eps = 1e-6 in the
        // denominator moves early causal rows visibly; the weights leave eps out by definition.
        if (!(causal && spec.rfind("linear:map=favor", 0) == 0)) CHECK(worst_output < 1e-4);
        if (spec != "linear:map=relu") CHECK(zero_rows == 0);
      }
}

TEST_CASE("run --weights writes linear attention's weights") {
  const std::string q = test::write_tensor("lw_q.npy", {2, 20, 4});
  const std::string w = test::temp_path("lw_w.npy");
  std::remove(w.c_str());
  const auto r = test::run_attnbench("run --variant linear --causal --q " + q + " --k " + q + " --v " + q +
                                     " --out " + test::temp_path("lw_o.npy") + " --weights " + w);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const NpyArray a = read_npy_floats(w);
  REQUIRE(a.shape == std::vector<long>{1, 2, 20, 20});
  for (long row = 0; row < 2 * 20; ++row) {
    double sum = 0;
    for (long j = 0; j < 20; ++j) {
      const float x = a.data[row * 20 + j];
      CHECK(x >= 0.0f);
      if (j > row % 20) CHECK(x == 0.0f);  // causal: no weight on later keys
      sum += x;
    }
    CHECK(std::abs(sum - 1.0) < 1e-5);
  }
}
