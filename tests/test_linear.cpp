// linear: every feature map x every ISA x odd shapes against the variant's float64 reference,
// that reference against an independent quadratic form of SPEC's formula, and the edge rules
// (causal is bottom-right aligned: the decode form Nq < Nk and Nq > Nk; --lens rows are zero,
// options).
#include <doctest/doctest.h>

#include <cmath>

#include "errors.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
struct Case {
  int B, H, Hkv, Nq, Nk, D;
  bool causal;
};

// N=1, D=1, D not a power of two, Nq != Nk both ways, GQA/MQA, several chunks, a ragged last chunk.
const Case kCases[] = {
    {1, 1, 1, 1, 1, 1, false},     {1, 1, 1, 1, 1, 1, true},      {1, 2, 1, 1, 37, 40, false},
    {2, 4, 2, 77, 77, 80, true},   {1, 1, 1, 130, 65, 256, false}, {1, 3, 1, 65, 200, 16, false},
    {2, 2, 2, 129, 129, 1, true},  {1, 4, 4, 200, 31, 40, false},  {1, 8, 2, 150, 150, 24, true},
    {1, 1, 1, 70, 70, 256, true},
};

const char* kMaps[] = {"linear", "linear:map=relu", "linear:map=favor", "linear:map=favor,features=40,seed=3"};

void check_against_reference(const Variant& v, test::Inputs& in, double tol) {
  const auto ref = test::reference(v, in);
  for (Isa isa : supported_isas()) {
    INFO(v.spec(), " ", isa_name(isa), " B=", in.p.B, " H=", in.p.H, " Hkv=", in.p.Hkv, " Nq=", in.p.Nq,
         " Nk=", in.p.Nk, " D=", in.p.D, " causal=", in.p.causal);
    CHECK(test::rel_err(test::run(v, in, isa), ref) < tol);
  }
}

// SPEC's formula as a quadratic sum over pairs, sharing no code with variants/linear.cpp:
// O[i] = sum_j (phi(q_i).phi(k_j)) v_j / (sum_j phi(q_i).phi(k_j) + eps), elu1 or relu.
std::vector<double> quadratic_linear(const test::Inputs& in, bool relu) {
  const Problem& p = in.p;
  auto phi = [relu](double x) { return relu ? std::max(x, 0.0) : (x > 0 ? x + 1 : std::exp(x)); };
  std::vector<double> out(static_cast<std::size_t>(p.B) * p.H * p.Nq * p.D, 0.0);
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h) {
      const long kvh = static_cast<long>(b) * p.Hkv + h / (p.H / p.Hkv);
      const long len = in.lens.empty() ? p.Nq : in.lens[b];
      for (long i = 0; i < len; ++i) {
        double* o = &out[((static_cast<long>(b) * p.H + h) * p.Nq + i) * p.D];
        double den = 1e-6;
        for (long j = 0; j < (in.lens.empty() ? p.Nk : len); ++j) {
          if (p.causal && j > i + p.Nk - p.Nq) break;  // bottom-right aligned
          double w = 0;
          for (int d = 0; d < p.D; ++d)
            w += phi(in.q[((static_cast<long>(b) * p.H + h) * p.Nq + i) * p.D + d]) * phi(in.k[(kvh * p.Nk + j) * p.D + d]);
          den += w;
          for (int d = 0; d < p.D; ++d) o[d] += w * in.v[(kvh * p.Nk + j) * p.D + d];
        }
        for (int d = 0; d < p.D; ++d) o[d] /= den;
      }
    }
  return out;
}
}  // namespace

TEST_CASE("linear: every map on every ISA matches its float64 reference on odd shapes") {
  for (const char* spec : kMaps) {
    const auto v = make_variant(spec);
    for (const Case& c : kCases) {
      auto in = test::make_inputs(c.B, c.H, c.Hkv, c.Nq, c.Nk, c.D, c.causal, 21);
      REQUIRE(v->unsupported_reason(in.p).empty());
      check_against_reference(*v, in, 1e-4);
    }
  }
}

TEST_CASE("linear: causal N=3000, D=64 (47 chunks of running float32 state), every map and ISA") {
  for (const char* spec : kMaps) {
    const auto v = make_variant(spec);
    auto in = test::make_inputs(1, 1, 1, 3000, 3000, 64, true, 4);
    check_against_reference(*v, in, 1e-4);
  }
}

TEST_CASE("linear: --lens uses each item's first tokens and writes exact zeros past them") {
  for (bool causal : {false, true})
    for (const char* spec : kMaps) {
      const auto v = make_variant(spec);
      auto in = test::make_inputs(3, 2, 1, 150, 150, 40, causal, 5);
      in.lens = {150, 1, 77};
      in.p.lens = in.lens;
      check_against_reference(*v, in, 1e-4);
      for (Isa isa : supported_isas()) {
        const auto out = test::run(*v, in, isa);
        bool zeros = true;
        for (int b = 0; b < 3; ++b)
          for (int h = 0; h < 2; ++h)
            for (long i = in.lens[b]; i < 150; ++i)
              for (int d = 0; d < 40; ++d) zeros = zeros && out[((b * 2L + h) * 150 + i) * 40 + d] == 0.0f;
        CHECK(zeros);
      }
    }
}

TEST_CASE("linear: the reference equals SPEC's formula summed pair by pair") {
  const Case cases[] = {{1, 2, 1, 45, 45, 12, true}, {2, 2, 2, 30, 50, 7, false}, {1, 1, 1, 1, 1, 1, true},
                        {1, 2, 1, 3, 50, 7, true},   {1, 2, 2, 50, 20, 5, true}};
  for (bool relu : {false, true})
    for (const Case& c : cases) {
      const auto v = make_variant(relu ? "linear:map=relu" : "linear");
      auto in = test::make_inputs(c.B, c.H, c.Hkv, c.Nq, c.Nk, c.D, c.causal, 9);
      const auto ref = test::reference(*v, in);
      const auto quad = quadratic_linear(in, relu);
      double err = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) err = std::max(err, std::abs(ref[i] - quad[i]));
      CHECK(err < 1e-10);
    }
  auto in = test::make_inputs(2, 2, 1, 60, 60, 8, true, 2);
  in.lens = {60, 23};
  in.p.lens = in.lens;
  const auto ref = test::reference(*make_variant("linear"), in);
  const auto quad = quadratic_linear(in, false);
  double err = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) err = std::max(err, std::abs(ref[i] - quad[i]));
  CHECK(err < 1e-10);
}

TEST_CASE("linear: favor with many features approximates softmax attention; the seed matters") {
  // Performer's estimator is unbiased for exp(q.k / sqrt(D)); with M = 512 features on short
  // inputs the output should sit close to exact softmax attention.
  auto in = test::make_inputs(1, 1, 1, 64, 64, 16, false, 13);
  for (float& x : in.q) x *= 0.5f;
  for (float& x : in.k) x *= 0.5f;
  const auto favor = make_variant("linear:map=favor,features=512,seed=1");
  const auto dense = make_variant("dense");
  const auto approx = test::run(*favor, in, Isa::scalar);
  const auto exact = test::run(*dense, in, Isa::scalar);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    num += std::pow(approx[i] - exact[i], 2);
    den += std::pow(exact[i], 2);
  }
  MESSAGE("favor M=512 vs softmax: relative Frobenius error ", std::sqrt(num / den));
  CHECK(std::sqrt(num / den) < 0.2);
  const auto other_seed = test::run(*make_variant("linear:map=favor,features=512,seed=2"), in, Isa::scalar);
  CHECK(other_seed != approx);
}

TEST_CASE("linear: causal Nq != Nk runs forward and refuses the backward with its reason; bad options are one-line errors") {
  const auto v = make_variant("linear");
  auto in = test::make_inputs(1, 1, 1, 10, 20, 8, true, 1);
  CHECK(v->unsupported_reason(in.p).empty());
  in.p.pass = Pass::bwd;
  CHECK(v->unsupported_reason(in.p).find("decode form") != std::string::npos);
  CHECK_THROWS_AS(check_problem(*v, in.p), UserError);
  in.p.causal = false;
  CHECK(v->unsupported_reason(in.p).empty());
  CHECK_THROWS_AS(make_variant("linear:map=softmax"), UserError);
  CHECK_THROWS_AS(make_variant("linear:features=8"), UserError);
  CHECK_THROWS_AS(make_variant("linear:map=favor,features=0"), UserError);
}

TEST_CASE("linear: flops follow SPEC (4 B H N M D) and density counts every pair") {
  test::Inputs in = test::make_inputs(2, 3, 1, 100, 100, 16, false, 1);
  CHECK(make_variant("linear")->flops(in.p) == doctest::Approx(4.0 * 2 * 3 * 100 * 16 * 16));
  CHECK(make_variant("linear:map=favor,features=32")->flops(in.p) == doctest::Approx(4.0 * 2 * 3 * 100 * 32 * 16));
  CHECK(make_variant("linear")->visible_pairs(in.p) == doctest::Approx(2.0 * 3 * 100 * 100));
  in.p.causal = true;
  CHECK(make_variant("linear")->visible_pairs(in.p) == doctest::Approx(2.0 * 3 * 100 * 101 / 2));
  // Bottom-right aligned: Nq = 10 against Nk = 20 sees 11..20 keys; Nq = 20 against Nk = 10, 0 (10
  // rows) then 1..10.
  in.p.Nq = 10, in.p.Nk = 20;
  CHECK(make_variant("linear")->visible_pairs(in.p) == doctest::Approx(2.0 * 3 * 155));
  in.p.Nq = 20, in.p.Nk = 10;
  CHECK(make_variant("linear")->visible_pairs(in.p) == doctest::Approx(2.0 * 3 * 55));
}

TEST_CASE("linear decode form: causal Nq < Nk (the last Nq positions) and Nq > Nk, every map and ISA, against float64") {
  // Prefix state over the first Nk - Nq keys, then the chunked causal loop: Nq = 1, 2, 16 and
  // Nk - 1, Nk not a multiple of the 64-token chunk (prefix and loop both ragged), D = 1, 40, 128,
  // GQA and MQA. A prefix off by one key, or a chunk paired with the wrong keys, moves rows by far
  // more than float32 state sums do (the bound is the existing linear tests').
  const Case cases[] = {{1, 4, 2, 1, 5000, 40, true},   {1, 4, 1, 2, 5000, 40, true},  {2, 4, 2, 16, 1001, 128, true},
                        {1, 2, 1, 4999, 5000, 40, true}, {1, 2, 2, 1, 1, 1, true},      {1, 3, 1, 16, 77, 1, true},
                        {1, 2, 1, 66, 130, 128, true},   {1, 4, 2, 2, 129, 40, true}};
  for (const char* spec : kMaps) {
    const auto v = make_variant(spec);
    for (const Case& c : cases) {
      auto in = test::make_inputs(c.B, c.H, c.Hkv, c.Nq, c.Nk, c.D, c.causal, 31);
      REQUIRE(v->unsupported_reason(in.p).empty());
      check_against_reference(*v, in, 1e-4);
    }
  }
  // Nq > Nk: rows before the first key's position see no key and are exactly 0 (phi(q) . 0 over
  // eps), the rest match the reference.
  for (const char* spec : kMaps) {
    const auto v = make_variant(spec);
    auto in = test::make_inputs(1, 2, 1, 150, 70, 40, true, 8);
    check_against_reference(*v, in, 1e-4);
    for (Isa isa : supported_isas()) {
      const auto out = test::run(*v, in, isa);
      bool zeros = true, nonzero_after = false;
      for (int h = 0; h < 2; ++h)
        for (long i = 0; i < 150; ++i)
          for (int d = 0; d < 40; ++d) {
            const float x = out[(h * 150L + i) * 40 + d];
            if (i < 80) zeros = zeros && x == 0.0f;
            else nonzero_after = nonzero_after || x != 0.0f;
          }
      CHECK(zeros);
      CHECK(nonzero_after);
    }
  }
}
