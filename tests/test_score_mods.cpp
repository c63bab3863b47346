// Score modifiers (softcap, ALiBi, learned sinks) on every softmax variant and every
// implementation (prefill, decode, the baselines), against a float64 reference that applies
// SPEC's formulas here, with the variant's own visibility rule.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include "impl_list.hpp"
#include "masked_softmax_variant.hpp"
#include "cli_util.hpp"
#include "npy.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
const std::vector<float> kSinks = {0.5f, -1.0f, 2.0f, 0.0f};

// O_i = sum_j e^s_ij v_j / (e^sink_h + sum_j e^s_ij), s = cap tanh(scale q.k / cap) + m_h (j - p).
std::vector<double> modified_attention(const test::Inputs& in, const MaskedSoftmaxVariant::Rule& rule, double cap,
                                       bool alibi, bool sinks) {
  const Problem& p = in.p;
  std::vector<double> out(p.q_elems(), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(p.D));
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h) {
      const int hk = h / (p.H / p.Hkv);
      const double slope = alibi ? std::exp2(-8.0 * (h + 1) / p.H) : 0.0;
      for (long i = 0; i < p.Nq; ++i) {
        const long pos = i + p.Nk - p.Nq;
        std::vector<double> e(p.Nk, 0.0);
        double mx = sinks ? kSinks[h] : -INFINITY;
        std::vector<double> s(p.Nk, -INFINITY);
        for (long j = 0; j < p.Nk; ++j) {
          if ((p.causal && j > pos) || !rule(h, i, j)) continue;
          double dot = 0;
          for (int d = 0; d < p.D; ++d)
            dot += double(in.q[((size_t(b) * p.H + h) * p.Nq + i) * p.D + d]) * in.k[((size_t(b) * p.Hkv + hk) * p.Nk + j) * p.D + d];
          double x = dot * scale;
          if (cap > 0) x = cap * std::tanh(x / cap);
          s[j] = x + slope * (j - pos);
          mx = std::max(mx, s[j]);
        }
        if (mx == -INFINITY) continue;
        double sum = sinks ? std::exp(kSinks[h] - mx) : 0.0;
        for (long j = 0; j < p.Nk; ++j) sum += (e[j] = std::exp(s[j] - mx));
        double* o = &out[((size_t(b) * p.H + h) * p.Nq + i) * p.D];
        for (long j = 0; j < p.Nk; ++j)
          for (int d = 0; d < p.D; ++d) o[d] += e[j] / sum * in.v[((size_t(b) * p.Hkv + hk) * p.Nk + j) * p.D + d];
      }
    }
  return out;
}
}  // namespace

TEST_CASE("softcap, alibi and sinks on every softmax variant and implementation match SPEC's formulas") {
  const std::string sinks_path = test::temp_path("sinks.npy");
  write_npy(sinks_path, {4}, kSinks.data());
  struct Mods {
    const char* options;
    double cap;
    bool alibi, sinks;
  };
  const Mods mods[] = {{"softcap=2", 2, false, false},
                       {"alibi=1", 0, true, false},
                       {"sinks=", 0, false, true},
                       {"softcap=3.5,alibi=1,sinks=", 3.5, true, true}};
  struct Shape {
    int B, H, Hkv, Nq, Nk, D;
  };
  const Shape shapes[] = {{1, 4, 2, 100, 100, 32}, {2, 4, 1, 8, 300, 40}, {1, 4, 4, 130, 70, 16}};
  for (const char* base : {"dense", "window:left=40,right=0", "sink:sink=3,window=20", "dilated:left=60,dilation=2",
                           "block_sparse:pattern=bigbird,block=16,random=1", "naive", "dense_blas"})
    for (const Mods& m : mods) {
      const std::string spec = std::string(base) + (std::string(base).find(':') == std::string::npos ? ":" : ",") + m.options +
                               (m.sinks ? sinks_path : "");
      const auto variant = make_variant(spec);
      const auto& masked = dynamic_cast<const MaskedSoftmaxVariant&>(*variant);
      for (const Shape& s : shapes)
        for (bool causal : {false, true}) {
          auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 51);
          const auto ref = modified_attention(in, masked.rule(in.p), m.cap, m.alibi, m.sinks);
          CAPTURE(spec);
          INFO("Nq=", s.Nq, " Nk=", s.Nk, " causal=", causal);
          // The variant's own float64 reference applies the same formulas.
          CHECK(test::rel_err(std::vector<float>(ref.begin(), ref.end()), test::reference(*variant, in)) < 1e-6);
          if (!variant->uses_isa()) {
            CHECK(test::rel_err(test::run(*variant, in, best_isa()), ref) < 1e-5);
            continue;
          }
          for (const FlashForwardImpl& impl : flash_forward_impls()) {
            if (!impl.supports(in.p)) continue;
            CAPTURE(impl.name);
            std::vector<float> out(in.p.q_elems());
            masked.plan_with(in.p, impl)->run(in.tensors(), {out.data(), nullptr});
            CHECK(test::rel_err(out, ref) < 1e-5);
          }
        }
    }
  std::remove(sinks_path.c_str());
}

TEST_CASE("a sinks file must hold one logit per head; modifiers are part of the canonical spec") {
  const std::string path = test::temp_path("sinks3.npy");
  const std::vector<float> three = {0, 1, 2};
  write_npy(path, {3}, three.data());
  const auto v = make_variant("dense:sinks=" + path);
  auto in = test::make_inputs(1, 4, 4, 5, 5, 8, false, 1);
  CHECK(v->unsupported_reason(in.p).find("holds 3 logits") != std::string::npos);
  CHECK(make_variant("window:alibi=1,softcap=30")->spec() == make_variant("window:softcap=30,alibi=1")->spec());
  CHECK(make_variant("window:softcap=30")->dense_spec() == "dense:softcap=30");
  std::remove(path.c_str());
}

// Softcap bounds every score by C, so without ALiBi the engine takes C as the softmax's max
// (SoftcapLog2::bounds_softmax) when e^-2C is a normal float, and keeps the running max above.
// Scores all near -C put every probability near e^-2C: a fixed max past that range would
// underflow them to zero (a wrong output); inside it they keep float32 accuracy.
TEST_CASE("softcap with every score near -C: the fixed max where e^-2C is normal, the running max beyond") {
  for (double cap : {2.0, 41.0, 60.0, 100.0})
    for (const char* base : {"dense", "window:left=40,right=0"}) {
      const std::string spec = std::string(base) + (std::string(base).find(':') == std::string::npos ? ":" : ",") +
                               "softcap=" + std::to_string(static_cast<int>(cap));
      const auto variant = make_variant(spec);
      const auto& masked = dynamic_cast<const MaskedSoftmaxVariant&>(*variant);
      for (int nq : {70, 1})  // prefill, and decode (the few-rows tile) against 300 keys
        for (bool causal : {false, true}) {
          auto in = test::make_inputs(1, 8, 2, nq, nq == 1 ? 300 : 90, 16, causal, 52);
          // q . k ~ -D a^2 for every pair: q = a, k = -a (+ noise), a^2 D scale = 4 x 100.
          for (float& x : in.q) x = 10.0f + 0.1f * x;
          for (float& x : in.k) x = -10.0f + 0.1f * x;
          const auto ref = modified_attention(in, masked.rule(in.p), cap, false, false);
          CAPTURE(spec);
          INFO("Nq=", nq, " causal=", causal);
          for (const FlashForwardImpl& impl : flash_forward_impls()) {
            if (!impl.supports(in.p)) continue;
            CAPTURE(impl.name);
            std::vector<float> out(in.p.q_elems());
            masked.plan_with(in.p, impl)->run(in.tensors(), {out.data(), nullptr});
            // Each score within C x 2e-6 (the tanh's relative error, tests/test_ukernels.cpp), so
            // each weight within a factor e^(2e-6 C) and O within about twice that.
            CHECK(test::rel_err(out, ref) < 1e-5 + 4e-6 * cap);
          }
        }
    }
}
