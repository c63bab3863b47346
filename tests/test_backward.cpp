// The backward pass (SPEC "--pass bwd"): the float64 gradient reference checked against finite
// differences of the float64 forward (so it cannot be wrong the same way as the kernels), then
// every softmax variant's backward on every ISA this CPU runs against that reference.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <vector>

#include "aligned_buffer.hpp"
#include "cli_util.hpp"
#include "impl_list.hpp"
#include "masked_softmax_variant.hpp"
#include "npy.hpp"
#include "sweep_records.hpp"
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
      {"linear", 1, 2, 1, 5, 7, 3, false, {}},           // linear attention, elu1 and relu maps
      {"linear:map=relu", 2, 2, 2, 6, 6, 4, false, {6, 3}},
      {"linear", 2, 2, 1, 7, 7, 3, true, {7, 4}},        // causal: prefix states, suffix gradients
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

namespace {
struct Shape {
  int B, H, Hkv, Nq, Nk, D;
  bool causal;
  std::vector<int> lens;
};

// Odd shapes: one row or key, N not a multiple of the 64 tile, every awkward D, Nq != Nk both
// ways (causal rows at negative positions see nothing), GQA, MQA, lengths. P and dS take two
// paths: in the dP product's registers on unmasked tiles (all of dense's tiles at 64 x 128, D = 32;
// the first key tile at 100 x 100) and a row pass on masked ones (every other mask and shape).
const std::vector<Shape> kShapes = {
    {1, 1, 1, 1, 1, 1, false, {}},     {1, 2, 1, 1, 77, 40, true, {}},     {1, 1, 1, 77, 1, 8, false, {}},
    {1, 2, 2, 70, 70, 1, true, {}},    {1, 2, 1, 65, 130, 40, true, {}},   {1, 3, 1, 130, 65, 80, true, {}},
    {2, 4, 2, 100, 100, 64, false, {}}, {1, 4, 1, 64, 128, 32, false, {}}, {1, 2, 2, 40, 70, 256, true, {}},
    {2, 2, 1, 90, 90, 24, true, {90, 33}}, {3, 2, 2, 70, 70, 16, false, {1, 70, 64}},
    {1, 8, 1, 129, 129, 128, true, {}},
    // Enough key tiles that tasks take 4 (or 2 and a remainder) at once: their query-tile lists
    // merge (causal diagonals and windows make them differ).
    {1, 4, 2, 1000, 1000, 16, true, {}}, {1, 2, 2, 700, 1100, 8, false, {}},
};

struct Grads32 {
  std::vector<float> dq, dk, dv;
  explicit Grads32(const Problem& p) : dq(p.q_elems(), NAN), dk(p.kv_elems(), NAN), dv(p.kv_elems(), NAN) {}
  Gradients view() { return {dq.data(), dk.data(), dv.data()}; }
};

// The largest rel_err of the three gradients, and how far they are from zero (not vacuous).
struct GradErr {
  double dq, dk, dv, mag;
  double worst() const { return std::max({dq, dk, dv}); }
};

GradErr compare(Grads32& got, Grads64& ref) {
  double mag = 0;
  for (double x : ref.dv) mag = std::max(mag, std::abs(x));
  return {test::rel_err(got.dq, ref.dq), test::rel_err(got.dk, ref.dk), test::rel_err(got.dv, ref.dv), mag};
}

// Runs variant's plan for p (pass bwd): the forward for O and the log-sum-exp, then the backward.
void run_backward(Plan& plan, const test::Inputs& in, const std::vector<float>& dout, Grads32& g) {
  std::vector<float> o(in.p.q_elems()), lse(static_cast<std::size_t>(in.p.B) * in.p.H * in.p.Nq);
  REQUIRE(plan.gives_backward());
  plan.run(in.tensors(), {o.data(), lse.data()});
  plan.run_backward(in.tensors(), o.data(), lse.data(), dout.data(), g.view());
}

// Every mask shape the engine distinguishes: full tiles, band tiles (window), holes (sink,
// dilated, block layouts at a block size that cuts tiles), random per-head layouts.
const char* const kMaskedSpecs[] = {
    "dense", "window:left=5,right=3", "window:left=70,right=0", "sink:sink=3,window=7",
    "dilated:left=20,right=5,dilation=3", "block_sparse:pattern=bigbird,block=16,random=1,seed=3",
    "block_sparse:pattern=random,block=10,random=2"};
}  // namespace

TEST_CASE("flash backward: every implementation, every mask shape, odd shapes, against float64 gradients") {
  for (const Shape& s : kShapes) {
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, s.causal, 31);
    in.p.lens = s.lens;
    in.p.pass = Pass::bwd;
    const auto dout = gaussian(in.p.q_elems(), 32);
    Problem fwd = in.p;
    fwd.pass = Pass::fwd;
    for (const char* spec : kMaskedSpecs) {
      const auto variant = make_variant(spec);
      const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
      REQUIRE(masked);
      if (!variant->unsupported_reason(in.p).empty()) continue;
      Grads64 ref(in.p);
      variant->reference_backward(in.p, in.tensors(), dout.data(), {}, ref.view());
      for (const FlashBackwardImpl& bwd : flash_backward_impls()) {
        CAPTURE(std::string(spec));
        CAPTURE(bwd.name);
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", s.causal,
             " lens=", s.lens.size());
        const FlashForwardImpl* fimpl = select_impl(flash_forward_impls(), fwd, bwd.isa);
        REQUIRE(fimpl);
        auto plan = masked->plan_backward_with(in.p, *fimpl, bwd);
        CHECK(plan->impl() == bwd.name);
        Grads32 got(in.p);
        run_backward(*plan, in, dout, got);
        const GradErr e = compare(got, ref);
        // float32 products over at most Nk keys or Nq rows and exp2 to ~2 ulp: at most 1.4e-6
        // seen on these shapes; D_i off by 1e-4 relative already fails.
        CHECK(e.dq <= 1e-5);
        CHECK(e.dk <= 1e-5);
        CHECK(e.dv <= 1e-5);
        CHECK(e.mag > 0.1);
      }
    }
  }
}

// Score modifiers (SPEC): softcap's derivative 1 - tanh^2, ALiBi's bias and the sink in the
// denominator, first in the float64 gradients (against finite differences of the float64
// forward with the same modifiers), then in the flash backward of every implementation.
TEST_CASE("backward with score modifiers: the float64 reference against finite differences") {
  const std::string sinks = test::temp_path("bwd_sinks.npy");
  const std::vector<float> logits = {0.7f, -0.4f};
  write_npy(sinks, {2}, logits.data());
  // softcap=1 with scores of order 1: tanh well off its linear part, so a missing or wrong
  // 1 - tanh^2 factor is far outside the 1e-8 agreement.
  for (const std::string& mods : {std::string("softcap=1"), std::string("alibi=1"), "sinks=" + sinks, "softcap=0.8,alibi=1,sinks=" + sinks})
    for (const char* base : {"dense", "window:left=2,right=1"})
      for (bool causal : {false, true}) {
        const std::string spec = std::string(base) + (std::string(base) == "dense" ? ":" : ",") + mods;
        CAPTURE(spec);
        CAPTURE(causal);
        const auto v = make_variant(spec);
        auto in = test::make_inputs(1, 2, 1, 5, 7, 3, causal, 13);
        for (float& x : in.q) x *= 2.0f;
        const auto dout = gaussian(in.p.q_elems(), 14);
        Grads64 g(in.p);
        v->reference_backward(in.p, in.tensors(), dout.data(), {}, g.view());
        CHECK(worst_fd_mismatch(*v, in, in.q, g.dq, dout) <= 1.0);
        CHECK(worst_fd_mismatch(*v, in, in.k, g.dk, dout) <= 1.0);
        CHECK(worst_fd_mismatch(*v, in, in.v, g.dv, dout) <= 1.0);
      }
  std::remove(sinks.c_str());
}

TEST_CASE("flash backward with score modifiers: every implementation, odd shapes, against float64 gradients") {
  const std::string sinks = test::temp_path("bwd_sinks8.npy");
  const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -3.0f, 0.25f, 1.0f};
  const std::vector<Shape> shapes = {{1, 2, 1, 1, 77, 40, true, {}},   {1, 2, 2, 70, 70, 1, true, {}},
                                     {1, 2, 1, 65, 130, 40, true, {}}, {1, 2, 1, 130, 65, 80, false, {}},
                                     {2, 4, 2, 100, 100, 64, false, {}}, {2, 2, 1, 90, 90, 24, true, {90, 33}},
                                     {1, 8, 1, 129, 129, 128, true, {}}, {1, 4, 2, 300, 300, 16, true, {}}};
  for (const Shape& s : shapes) {
    write_npy(sinks, {s.H}, logits.data());
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, s.causal, 61);
    for (float& x : in.q) x *= 3.0f;  // scores of a few units: softcap=2 bends them
    in.p.lens = s.lens;
    in.p.pass = Pass::bwd;
    const auto dout = gaussian(in.p.q_elems(), 62);
    Problem fwd = in.p;
    fwd.pass = Pass::fwd;
    for (const std::string& mods : {std::string("softcap=2"), std::string("alibi=1"), "sinks=" + sinks, "softcap=3,alibi=1,sinks=" + sinks})
      for (const char* base : {"dense:", "window:left=40,right=3,", "block_sparse:pattern=bigbird,block=16,random=1,"}) {
        const auto variant = make_variant(base + mods);
        const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
        REQUIRE(masked);
        REQUIRE(variant->unsupported_reason(in.p).empty());
        Grads64 ref(in.p);
        variant->reference_backward(in.p, in.tensors(), dout.data(), {}, ref.view());
        for (const FlashBackwardImpl& bwd : flash_backward_impls()) {
          CAPTURE(variant->spec());
          CAPTURE(bwd.name);
          INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", s.causal,
               " lens=", s.lens.size());
          const FlashForwardImpl* fimpl = select_impl(flash_forward_impls(), fwd, bwd.isa);
          REQUIRE(fimpl);
          Grads32 got(in.p);
          run_backward(*masked->plan_backward_with(in.p, *fimpl, bwd), in, dout, got);
          const GradErr e = compare(got, ref);
          // As without modifiers, plus softcap's tanh (2e-6 C absolute, the ukernel test) in P
          // and in its derivative: 1e-5 holds with room; a missing derivative is off by ~50%.
          CHECK(e.dq <= 1e-5);
          CHECK(e.dk <= 1e-5);
          CHECK(e.dv <= 1e-5);
          CHECK(e.mag > 0.05);
        }
      }
  }
  std::remove(sinks.c_str());
}

TEST_CASE("backward refusals: unfused baselines with score modifiers") {
  auto in = test::make_inputs(1, 2, 2, 8, 8, 4, true, 1);
  in.p.pass = Pass::bwd;
  for (const char* spec : {"naive:alibi=1", "dense_blas:softcap=30"}) {
    CAPTURE(spec);
    CHECK(make_variant(spec)->unsupported_reason(in.p).find("not implemented") != std::string::npos);
  }
  CHECK(make_variant("dense:softcap=30,alibi=1")->unsupported_reason(in.p).empty());
  CHECK(make_variant("block_topk:alibi=1")->unsupported_reason(in.p).empty());  // tests/test_block_topk.cpp
}

TEST_CASE("naive and dense_blas backward: odd shapes against float64 gradients") {
  for (const Shape& s : kShapes) {
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, s.causal, 41);
    in.p.lens = s.lens;
    in.p.pass = Pass::bwd;
    const auto dout = gaussian(in.p.q_elems(), 42);
    for (const char* spec : {"naive", "dense_blas"}) {
      CAPTURE(std::string(spec));
      INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", s.causal,
           " lens=", s.lens.size());
      const auto variant = make_variant(spec);
      REQUIRE(variant->unsupported_reason(in.p).empty());
      Grads64 ref(in.p);
      variant->reference_backward(in.p, in.tensors(), dout.data(), {}, ref.view());
      auto plan = variant->plan(in.p, Isa::avx512);
      Grads32 got(in.p);
      run_backward(*plan, in, dout, got);
      const GradErr e = compare(got, ref);
      // Sums over up to Nk keys in one float accumulator (naive) or in sgemm: looser than the
      // engine's blocked sums, still far below what a wrong term gives.
      CHECK(e.dq <= 3e-5);
      CHECK(e.dk <= 3e-5);
      CHECK(e.dv <= 3e-5);
      CHECK(e.mag > 0.1);
    }
  }
}

TEST_CASE("linear backward: every implementation, odd shapes, causal or not, against float64 gradients; favor skips") {
  for (Shape s : kShapes) {
    if (s.causal && s.Nq != s.Nk) s.causal = false;  // the causal backward needs Nq == Nk (refused otherwise)
    auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, s.causal, 51);
    in.p.lens = s.lens;
    in.p.pass = Pass::bwd;
    const auto dout = gaussian(in.p.q_elems(), 52);
    // With one key O_i = v_1 up to eps, and with D = M = 1 O_i = S / z up to eps whatever q_i,
    // so dQ (and dK) are O(eps) differences of O(1) terms; with a few keys relu features can all
    // be 0 and the denominator is eps (gradients 1e6 dO). All are conditioning float32 cannot
    // follow, the forward included.
    if (s.Nk < 16 || s.D == 1) continue;
    for (const char* spec : {"linear", "linear:map=relu"}) {
      const auto variant = make_variant(spec);
      REQUIRE(variant->unsupported_reason(in.p).empty());
      Grads64 ref(in.p);
      variant->reference_backward(in.p, in.tensors(), dout.data(), {}, ref.view());
      for (Isa isa : supported_isas()) {
        CAPTURE(std::string(spec));
        CAPTURE(isa_name(isa));
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", s.causal,
             " lens=", s.lens.size());
        auto plan = variant->plan(in.p, isa);
        CHECK(plan->impl() == std::string("f32-linear-bwd-") + isa_name(case_isa(DType::f32, isa)));
        Grads32 got(in.p);
        run_backward(*plan, in, dout, got);
        const GradErr e = compare(got, ref);
        // Sums over Nk keys and Nq rows of positive features: a few 1e-6 expected.
        CHECK(e.dq <= 3e-5);
        CHECK(e.dk <= 3e-5);
        CHECK(e.dv <= 3e-5);
      }
    }
  }
  Problem p;
  p.Nq = p.Nk = 8, p.D = 4, p.pass = Pass::bwd, p.causal = true;
  CHECK(make_variant("linear")->unsupported_reason(p).empty());
  CHECK(make_variant("linear:map=favor")->unsupported_reason(p).find("favor") != std::string::npos);
  CHECK(make_variant("linear")->unsupported_reason(p).empty());
}

TEST_CASE("run --grad-out --dq --dk --dv writes the float64-checked gradients in the inputs' ranks") {
  // 3-D Q [H, Nq, D] and K, V [Hkv, Nk, D]: GQA, causal, Nq != Nk.
  auto in = test::make_inputs(1, 4, 2, 37, 70, 24, true, 61);
  in.p.pass = Pass::bwd;
  const auto dout = gaussian(in.p.q_elems(), 62);
  const std::vector<long> qs = {4, 37, 24}, ks = {2, 70, 24};
  write_npy(test::temp_path("bwd_q.npy"), qs, in.q.data());
  write_npy(test::temp_path("bwd_k.npy"), ks, in.k.data());
  write_npy(test::temp_path("bwd_v.npy"), ks, in.v.data());
  write_npy(test::temp_path("bwd_do.npy"), qs, dout.data());
  const std::string io = " --q " + test::temp_path("bwd_q.npy") + " --k " + test::temp_path("bwd_k.npy") + " --v " +
                         test::temp_path("bwd_v.npy") + " --out " + test::temp_path("bwd_o.npy");
  const std::string grads = " --grad-out " + test::temp_path("bwd_do.npy") + " --dq " + test::temp_path("bwd_dq.npy") +
                            " --dk " + test::temp_path("bwd_dk.npy") + " --dv " + test::temp_path("bwd_dv.npy");
  for (const char* spec : {"dense", "window:left=9,right=2", "dense_blas"}) {
    CAPTURE(std::string(spec));
    const auto r = test::run_attnbench(std::string("run --variant ") + spec + " --causal" + io + grads);
    REQUIRE(r.exit_code == 0);
    const NpyArray dq = read_npy_floats(test::temp_path("bwd_dq.npy"));
    const NpyArray dk = read_npy_floats(test::temp_path("bwd_dk.npy"));
    const NpyArray dv = read_npy_floats(test::temp_path("bwd_dv.npy"));
    CHECK(dq.shape == qs);
    CHECK(dk.shape == ks);
    CHECK(dv.shape == ks);
    Grads64 ref(in.p);
    make_variant(spec)->reference_backward(in.p, in.tensors(), dout.data(), {}, ref.view());
    CHECK(test::rel_err(dq.data, ref.dq) <= 3e-5);
    CHECK(test::rel_err(dk.data, ref.dk) <= 3e-5);
    CHECK(test::rel_err(dv.data, ref.dv) <= 3e-5);
  }
  // One gradient alone is fine; the pieces must come together; dO must have O's shape.
  CHECK(test::run_attnbench("run --variant dense" + io + " --grad-out " + test::temp_path("bwd_do.npy") + " --dv " +
                            test::temp_path("bwd_dv.npy")).exit_code == 0);
  auto fails = [&](const std::string& args, const std::string& words) {
    const auto r = test::run_attnbench(args);
    CAPTURE(args);
    CAPTURE(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.lines() == 1);
    CHECK(r.output.find(words) != std::string::npos);
  };
  fails("run --variant dense" + io + " --dq " + test::temp_path("bwd_dq.npy"), "--grad-out");
  fails("run --variant dense" + io + " --grad-out " + test::temp_path("bwd_do.npy"), "at least one of");
  fails("run --variant dense" + io + " --grad-out " + test::temp_path("bwd_k.npy") + " --dq " +
            test::temp_path("bwd_dq.npy"), "O's shape");
  const std::string self = " --q " + test::temp_path("bwd_q.npy") + " --k " + test::temp_path("bwd_q.npy") + " --v " +
                           test::temp_path("bwd_q.npy") + " --out " + test::temp_path("bwd_o.npy");
  fails("run --variant linear:map=favor" + self + grads, "not implemented");
  fails("run --variant dense" + io + " --grad-out " + test::temp_path("bwd_do.npy") + " --dq " +
            test::temp_path("bwd_q.npy"), "bwd_q.npy");
}

TEST_CASE("sweep --pass bwd,fwdbwd: records carry rel_err_dq/dk/dv, 2.5x and 3.5x the forward's flops") {
  const std::string out = test::temp_path("bwd_sweep.jsonl");
  std::remove(out.c_str());
  const auto r = test::run_attnbench("sweep --variant dense --variant dense_blas --variant linear --variant linear:map=favor "
                                     "--seq 100 --head-dim 24 "
                                     "--heads 4 --kv-heads 2 --causal both --threads 1 --pass fwd,bwd,fwdbwd --out " +
                                     out + test::kFastTiming);
  REQUIRE(r.exit_code == 0);
  const auto lines = test::read_lines(out);
  REQUIRE(lines.size() == 24);
  std::map<std::string, double> fwd_flops;
  int backward_ok = 0, skipped = 0;
  for (const std::string& line : lines) {
    const std::string pass = test::raw_field(line, "pass");
    const std::string key = test::raw_field(line, "variant") + test::raw_field(line, "causal");
    if (test::raw_field(line, "status") == "skipped") {
      // favor has no backward: it says so.
      ++skipped;
      CHECK(test::raw_field(line, "reason").find("favor") != std::string::npos);
      continue;
    }
    if (pass == "fwd") {
      fwd_flops[key] = test::num_field(line, "flops");
      CHECK(!test::has_field(line, "rel_err_dq"));
      continue;
    }
    ++backward_ok;
    CAPTURE(line);
    REQUIRE(fwd_flops.count(key));
    CHECK(test::num_field(line, "flops") == doctest::Approx(fwd_flops[key] * (pass == "bwd" ? 2.5 : 3.5)));
    const double dq = test::num_field(line, "rel_err_dq"), dk = test::num_field(line, "rel_err_dk"),
                 dv = test::num_field(line, "rel_err_dv");
    CHECK(dq < 3e-5);
    CHECK(dk < 3e-5);
    CHECK(dv < 3e-5);
    CHECK(test::num_field(line, "rel_err") >= std::max({dq, dk, dv}));
    CHECK(test::raw_field(line, "grad_groups") == "all");
    if (pass == "bwd") CHECK(test::raw_field(line, "impl").find("bwd") != std::string::npos);
  }
  CHECK(skipped == 4);
  CHECK(backward_ok == 12);
}

TEST_CASE("flash backward: 1, 2 and 3 threads (dQ copies summed, dK/dV tasks spread) and pass fwdbwd") {
  auto in = test::make_inputs(2, 6, 2, 150, 200, 40, true, 71);
  in.p.pass = Pass::fwdbwd;
  const auto dout = gaussian(in.p.q_elems(), 72);
  const auto variant = make_variant("window:left=100,right=20");
  Grads64 ref(in.p);
  variant->reference_backward(in.p, in.tensors(), dout.data(), {}, ref.view());
  const int before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    auto plan = variant->plan(in.p, best_isa());
    CHECK(plan->threads() == threads);
    CHECK(plan->impl().find("+f32-flash-bwd-") != std::string::npos);
    std::vector<float> o(in.p.q_elems()), lse(static_cast<std::size_t>(in.p.B) * in.p.H * in.p.Nq);
    Grads32 got(in.p);
    plan->run_forward_backward(in.tensors(), {o.data(), lse.data()}, dout.data(), got.view());
    const GradErr e = compare(got, ref);
    CHECK(e.worst() <= 1e-5);
  }
  omp_set_num_threads(before);
}

TEST_CASE("flash backward reads vector-aligned Q, dO and K in place and copies unaligned ones: same gradients") {
  // D = 64 rows start on vector boundaries when the tensors do; one float off, none do.
  auto in = test::make_inputs(1, 4, 2, 200, 300, 64, true, 81);
  in.p.pass = Pass::bwd;
  const auto dout = gaussian(in.p.q_elems(), 82);
  const auto variant = make_variant("dense");
  Grads64 ref(in.p);
  variant->reference_backward(in.p, in.tensors(), dout.data(), {}, ref.view());
  for (std::size_t offset : {0, 1}) {
    CAPTURE(offset);
    AlignedBuffer q(in.q.size() + 1), k(in.k.size() + 1), v(in.v.size() + 1), g(dout.size() + 1);
    std::copy(in.q.begin(), in.q.end(), q.data() + offset);
    std::copy(in.k.begin(), in.k.end(), k.data() + offset);
    std::copy(in.v.begin(), in.v.end(), v.data() + offset);
    std::copy(dout.begin(), dout.end(), g.data() + offset);
    const Tensors t{q.data() + offset, k.data() + offset, v.data() + offset};
    auto plan = variant->plan(in.p, best_isa());
    std::vector<float> o(in.p.q_elems()), lse(static_cast<std::size_t>(in.p.H) * in.p.Nq);
    Grads32 got(in.p);
    plan->run(t, {o.data(), lse.data()});
    plan->run_backward(t, o.data(), lse.data(), g.data() + offset, got.view());
    CHECK(compare(got, ref).worst() <= 1e-5);
  }
}
