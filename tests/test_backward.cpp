// The backward pass (SPEC "--pass bwd"): the float64 gradient reference checked against finite
// differences of the float64 forward (so it cannot be wrong the same way as the kernels), then
// every softmax variant's backward on every ISA this CPU runs against that reference.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "masked_softmax_variant.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
std::vector<float> gaussian(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

struct Grads64 {
  std::vector<double> dq, dk, dv;
  explicit Grads64(const Problem& p) : dq(p.q_elems()), dk(p.kv_elems()), dv(p.kv_elems()) {}
  GradientsF64 view() { return {dq.data(), dk.data(), dv.data()}; }
};

// sum(O * dO) with O from the variant's float64 forward reference.
double loss(const Variant& v, const test::Inputs& in, const std::vector<float>& dout) {
  std::vector<double> o(in.p.q_elems());
  v.reference(in.p, in.tensors(), test::all_rows(in.p), o.data());
  double l = 0;
  for (std::size_t i = 0; i < o.size(); ++i) l += o[i] * dout[i];
  return l;
}

// Central differences over every element of one input tensor, Richardson-extrapolated
// ((4 D(h/2) - D(h)) / 3: truncation O(h^4), ~1e-12 here). Each quotient divides by the step the
// float32 input actually took (x + h rounds when x has bits below h's last one).
double worst_fd_mismatch(const Variant& v, test::Inputs& in, std::vector<float>& x, const std::vector<double>& grad,
                         const std::vector<float>& dout) {
  auto central = [&](std::size_t e, float h) {
    const float x0 = x[e];
    x[e] = x0 + h;
    const double up = loss(v, in, dout), step_up = static_cast<double>(x[e]) - x0;
    x[e] = x0 - h;
    const double down = loss(v, in, dout), step_down = x0 - static_cast<double>(x[e]);
    x[e] = x0;
    return (up - down) / (step_up + step_down);
  };
  double worst = 0;
  for (std::size_t e = 0; e < x.size(); ++e) {
    const double fd = (4.0 * central(e, 0x1p-11f) - central(e, 0x1p-10f)) / 3.0;
    worst = std::max(worst, std::abs(fd - grad[e]) / (1e-8 * (1.0 + std::abs(grad[e]))));
  }
  return worst;
}
}  // namespace

TEST_CASE("backward reference: float64 gradients agree with finite differences of the float64 forward") {
  struct Case {
    const char* spec;
    int B, H, Hkv, Nq, Nk, D;
    bool causal;
    std::vector<int> lens;
  };
  const std::vector<Case> cases = {
      {"dense", 1, 2, 1, 5, 7, 3, true, {}},             // GQA, causal, Nq < Nk
      {"dense", 1, 1, 1, 6, 4, 2, true, {}},             // Nq > Nk: the first rows see no key
      {"window:left=2,right=1", 1, 2, 2, 6, 6, 3, false, {}},
      {"sink:sink=1,window=1", 1, 1, 1, 7, 7, 2, false, {}},
      {"dense", 2, 2, 1, 4, 4, 2, false, {4, 2}},        // lengths: padding rows and keys get 0
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.spec));
    CAPTURE(c.Nq);
    const auto v = make_variant(c.spec);
    auto in = test::make_inputs(c.B, c.H, c.Hkv, c.Nq, c.Nk, c.D, c.causal, 11);
    in.p.lens = c.lens;
    const auto dout = gaussian(in.p.q_elems(), 12);
    Grads64 g(in.p);
    v->reference_backward(in.p, in.tensors(), dout.data(), {}, g.view());
    CHECK(worst_fd_mismatch(*v, in, in.q, g.dq, dout) <= 1.0);
    CHECK(worst_fd_mismatch(*v, in, in.k, g.dk, dout) <= 1.0);
    CHECK(worst_fd_mismatch(*v, in, in.v, g.dv, dout) <= 1.0);
    // Not vacuous: the gradients are far from zero.
    double mag = 0;
    for (double x : g.dk) mag = std::max(mag, std::abs(x));
    CHECK(mag > 1e-2);
  }
}

TEST_CASE("backward reference: a subset of groups gives exactly those groups' gradients") {
  auto in = test::make_inputs(2, 4, 2, 9, 11, 5, true, 3);
  const auto v = make_variant("dense");
  const auto dout = gaussian(in.p.q_elems(), 4);
  Grads64 all(in.p);
  v->reference_backward(in.p, in.tensors(), dout.data(), {}, all.view());
  const std::vector<long> groups = {1, 2};  // (b 0, kv head 1) and (b 1, kv head 0)
  const std::size_t qg = 2 * 9 * 5, kg = 11 * 5;
  std::vector<double> dq(groups.size() * qg), dk(groups.size() * kg), dv(groups.size() * kg);
  v->reference_backward(in.p, in.tensors(), dout.data(), groups, {dq.data(), dk.data(), dv.data()});
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    for (std::size_t e = 0; e < qg; ++e) CHECK(dq[gi * qg + e] == all.dq[groups[gi] * qg + e]);
    for (std::size_t e = 0; e < kg; ++e) {
      CHECK(dk[gi * kg + e] == all.dk[groups[gi] * kg + e]);
      CHECK(dv[gi * kg + e] == all.dv[groups[gi] * kg + e]);
    }
  }
}
