// block_topk (data-dependent block selection) against a brute-force float64 selection written
// here from SPEC: mean vectors, dot products, sink + local + top-k, causal candidates, ties to
// the lower block. Inputs give key blocks distinct strengths along one shared direction, so
// float32 and float64 rank the candidates the same (no near-ties). Outputs of every flash
// implementation (prefill and decode) are checked against tests/independent_reference.hpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "errors.hpp"
#include "impl_list.hpp"
#include "independent_reference.hpp"
#include "masked_softmax_variant.hpp"
#include "reference_backward.hpp"

using namespace attn;

namespace {

// selected[(h * q_blocks + I)] = key blocks query block I of head h sees (one batch item).
using Selection = std::vector<std::set<long>>;

Selection brute_force(const test::Inputs& in, int b, long block, long topk, long sink) {
  const Problem& p = in.p;
  const long vq = in.lens.empty() ? p.Nq : in.lens[b], vk = in.lens.empty() ? p.Nk : in.lens[b];
  const long shift = in.lens.empty() ? p.Nk - p.Nq : 0, D = p.D;
  const long qbs = (p.Nq + block - 1) / block, kbs = (vk + block - 1) / block;
  Selection sel(static_cast<std::size_t>(p.H) * qbs);
  for (int h = 0; h < p.H; ++h) {
    const int g = h / (p.H / p.Hkv);
    for (long I = 0; I < qbs; ++I) {
      const long i0 = I * block, i1 = std::min({i0 + block, static_cast<long>(p.Nq), vq});
      if (i1 <= i0) continue;
      std::vector<double> qbar(D, 0.0);
      for (long i = i0; i < i1; ++i)
        for (long d = 0; d < D; ++d) qbar[d] += in.q[((long(b) * p.H + h) * p.Nq + i) * D + d] / double(i1 - i0);
      std::set<long>& s = sel[h * qbs + I];
      for (long J = 0; J < std::min(sink, kbs); ++J) s.insert(J);
      for (long i = i0; i < i1; ++i)
        if (i + shift >= 0 && i + shift < vk) s.insert((i + shift) / block);
      std::vector<std::pair<double, long>> cand;  // (-score, J): ascending = best first, ties lower J
      for (long J = 0; J < kbs; ++J) {
        if (s.count(J) || (p.causal && J * block > i1 - 1 + shift)) continue;
        const long j0 = J * block, j1 = std::min(j0 + block, vk);
        double dot = 0;
        for (long d = 0; d < D; ++d) {
          double kbar = 0;
          for (long j = j0; j < j1; ++j) kbar += in.k[((long(b) * p.Hkv + g) * p.Nk + j) * D + d];
          dot += qbar[d] * kbar / double(j1 - j0);
        }
        cand.push_back({-dot, J});
      }
      std::sort(cand.begin(), cand.end());
      for (long t = 0; t < std::min<long>(topk, cand.size()); ++t) s.insert(cand[t].second);
    }
  }
  return sel;
}

// Key block J of K/V head g gets strength a_gJ (distinct, 0.3 apart) along coordinate 0; query
// block I of head h gets s_hI (|s| in [0.5, 1.5], either sign): scores s a stand 0.15 apart, far
// above what the small random rest adds.
test::Inputs crafted(int B, int H, int Hkv, int Nq, int Nk, bool causal, std::vector<int> lens, long block,
                     unsigned seed) {
  auto in = test::make_inputs(B, H, Hkv, Nq, Nk, 16, causal, seed);
  in.lens = lens, in.p.lens = lens;
  for (float& x : in.q) x *= 0.05f;
  for (float& x : in.k) x *= 0.05f;
  std::mt19937 rng(seed + 1);
  const long kbs = (Nk + block - 1) / block, qbs = (Nq + block - 1) / block;
  for (int b = 0; b < B; ++b) {
    for (int g = 0; g < Hkv; ++g) {
      std::vector<long> perm(kbs);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      for (long j = 0; j < Nk; ++j) in.k[((long(b) * Hkv + g) * Nk + j) * 16] += 0.3f * (perm[j / block] - kbs / 2.0f);
    }
    std::uniform_real_distribution<float> mag(0.5f, 1.5f);
    for (int h = 0; h < H; ++h)
      for (long I = 0; I < qbs; ++I) {
        const float s = mag(rng) * (rng() % 2 ? 1.0f : -1.0f);
        for (long i = I * block; i < std::min<long>(Nq, (I + 1) * block); ++i)
          in.q[((long(b) * H + h) * Nq + i) * 16] += s;
      }
  }
  return in;
}

test::Inputs item(const test::Inputs& in, int b) {
  test::Inputs one = in;
  one.p.B = 1;
  if (!in.lens.empty()) one.lens = one.p.lens = {in.lens[b]};
  const std::size_t q = in.q.size() / in.p.B, kv = in.k.size() / in.p.B;
  one.q.assign(in.q.begin() + b * q, in.q.begin() + (b + 1) * q);
  one.k.assign(in.k.begin() + b * kv, in.k.begin() + (b + 1) * kv);
  one.v.assign(in.v.begin() + b * kv, in.v.begin() + (b + 1) * kv);
  return one;
}

// Runs every implementation that supports the problem and checks outputs and weights() against
// attention restricted to the brute-force selection.
void check(const std::string& spec, const test::Inputs& in, long block, long topk, long sink) {
  const auto variant = make_variant(spec);
  const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
  REQUIRE(masked);
  REQUIRE(masked->data_dependent());
  REQUIRE(variant->unsupported_reason(in.p).empty());
  const Problem& p = in.p;
  const long qbs = (p.Nq + block - 1) / block;
  std::vector<double> ref(p.q_elems());
  std::vector<Selection> sel;
  for (int b = 0; b < p.B; ++b) {
    sel.push_back(brute_force(in, b, block, topk, sink));
    const auto one = item(in, b);
    const auto r = test::spec_attention(
        one, [&](int h, long i, long j) { return sel[b][h * qbs + i / block].count(j / block) > 0; });
    std::copy(r.begin(), r.end(), ref.begin() + b * r.size());
  }
  // The variant's own float64 reference and weights follow the same selection.
  const auto own = test::reference(*variant, in);
  double diff = 0;
  for (std::size_t e = 0; e < ref.size(); ++e) diff = std::max(diff, std::abs(own[e] - ref[e]));
  CHECK(diff < 1e-12);
  std::vector<int> heads(p.H);
  std::iota(heads.begin(), heads.end(), 0);
  const auto rows = test::all_rows(p);
  std::vector<float> w(static_cast<std::size_t>(p.B) * p.H * p.Nq * p.Nk);
  variant->weights(p, in.tensors(), heads, rows, w.data());
  long wrong = 0;
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h)
      for (long i = 0; i < p.Nq; ++i)
        for (long j = 0; j < p.Nk; ++j) {
          const long vq = in.lens.empty() ? p.Nq : in.lens[b], vk = in.lens.empty() ? p.Nk : in.lens[b];
          const bool causal_ok = !p.causal || j <= i + (in.lens.empty() ? p.Nk - p.Nq : 0);
          const bool seen = i < vq && j < vk && causal_ok && sel[b][h * qbs + i / block].count(j / block);
          wrong += seen != (w[((long(b) * p.H + h) * p.Nq + i) * p.Nk + j] > 0.0f);
        }
  CHECK(wrong == 0);
  int ran = 0;
  for (const FlashForwardImpl& impl : flash_forward_impls()) {
    if (!impl.supports(p) || !cpu_supports(impl.isa)) continue;
    CAPTURE(impl.name);
    std::vector<float> out(p.q_elems(), NAN);
    auto plan = masked->plan_with(p, impl);
    plan->run(in.tensors(), {out.data(), nullptr});
    CHECK(test::rel_err(out, ref) < 1e-5);
    plan->run(in.tensors(), {out.data(), nullptr});  // a second call reuses the plan's buffers
    CHECK(test::rel_err(out, ref) < 1e-5);
    ++ran;
  }
  CHECK(ran > 0);
}

struct Shape {
  int B, H, Hkv, Nq, Nk;
  std::vector<int> lens;
};
}  // namespace

TEST_CASE("block_topk selects sink, local and top-k blocks like a brute-force float64 selection") {
  const Shape shapes[] = {
      {1, 2, 1, 300, 1100, {}}, {1, 2, 1, 1100, 300, {}},    {2, 4, 2, 700, 700, {700, 390}},
      {1, 2, 2, 640, 640, {}},  {1, 4, 1, 3, 1000, {}},      {2, 4, 2, 16, 700, {}},
      {1, 2, 1, 1, 1000, {}},   {2, 2, 1, 130, 1500, {}},
  };
  // Blocks of 128 and 192 (whole engine tiles) divide none of the lengths, and hold 2-3 query
  // and key tiles each: one selection feeds several query tiles' lists.
  const struct {
    const char* spec;
    long block, topk, sink;
  } specs[] = {{"block_topk", 64, 8, 1},          {"block_topk:topk=2", 64, 2, 1},
               {"block_topk:topk=3,sink=2", 64, 3, 2}, {"block_topk:topk=0,sink=0", 64, 0, 0},
               {"block_topk:block=128,topk=2", 128, 2, 1}, {"block_topk:block=192,topk=1,sink=0", 192, 1, 0},
               {"block_topk:block=128,topk=9,sink=2", 128, 9, 2}};
  unsigned seed = 5;
  for (const auto& sp : specs)
    for (const Shape& s : shapes)
      for (bool causal : {false, true}) {
        CAPTURE(sp.spec);
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " causal=", causal,
             " lens=", s.lens.size());
        check(sp.spec, crafted(s.B, s.H, s.Hkv, s.Nq, s.Nk, causal, s.lens, sp.block, ++seed), sp.block, sp.topk,
              sp.sink);
      }
}

TEST_CASE("block_topk breaks ties toward the lower key block") {
  // K = 0: every candidate scores exactly 0 in float32 and float64.
  for (bool causal : {false, true}) {
    auto in = test::make_inputs(1, 2, 1, 200, 900, 16, causal, 3);
    std::fill(in.k.begin(), in.k.end(), 0.0f);
    check("block_topk:topk=3", in, 64, 3, 1);
    check("block_topk:block=128,topk=2", in, 128, 2, 1);
  }
}

namespace {
// The brute-force selection of one item as a mask, for the float64 gradient reference (itself
// checked against finite differences in tests/test_backward.cpp).
class BruteForceMask final : public AttentionMask {
 public:
  BruteForceMask(Selection sel, long block, long q_blocks) : sel_(std::move(sel)), block_(block), qbs_(q_blocks) {}
  bool has_holes() const override { return true; }
  int layout_heads() const override { return static_cast<int>(sel_.size() / qbs_); }
  bool visible(int h, long i, long j) const override { return sel_[h * qbs_ + i / block_].count(j / block_) > 0; }

 private:
  Selection sel_;
  long block_, qbs_;
};
}  // namespace

TEST_CASE("block_topk backward: every ISA against float64 gradients under the brute-force selection") {
  const Shape shapes[] = {{1, 2, 1, 300, 1100, {}}, {1, 2, 1, 1100, 300, {}}, {2, 4, 2, 700, 700, {700, 390}},
                          {1, 4, 1, 3, 1000, {}}};
  const struct {
    const char* spec;
    long block, topk, sink;
  } specs[] = {{"block_topk", 64, 8, 1}, {"block_topk:topk=2", 64, 2, 1}, {"block_topk:block=128,topk=2", 128, 2, 1}};
  unsigned seed = 70;
  for (const auto& sp : specs)
    for (const Shape& s : shapes)
      for (bool causal : {false, true}) {
        CAPTURE(sp.spec);
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " causal=", causal,
             " lens=", s.lens.size());
        auto in = crafted(s.B, s.H, s.Hkv, s.Nq, s.Nk, causal, s.lens, sp.block, ++seed);
        in.p.pass = Pass::bwd;
        const Problem& p = in.p;
        std::mt19937 rng(seed);
        std::normal_distribution<float> normal;
        std::vector<float> dout(p.q_elems());
        for (float& x : dout) x = normal(rng);
        const auto variant = make_variant(sp.spec);
        REQUIRE(variant->unsupported_reason(p).empty());
        std::vector<double> dq(p.q_elems()), dk(p.kv_elems()), dv(p.kv_elems());
        variant->reference_backward(p, in.tensors(), dout.data(), {}, {dq.data(), dk.data(), dv.data()});
        // The same gradients from the plain reference under the brute-force selection, item by item.
        const long qbs = (p.Nq + sp.block - 1) / sp.block;
        const std::size_t q_item = dout.size() / p.B, kv_item = in.k.size() / p.B;
        double diff = 0, mag = 0;
        for (int b = 0; b < p.B; ++b) {
          auto one = item(in, b);
          const BruteForceMask mask(brute_force(in, b, sp.block, sp.topk, sp.sink), sp.block, qbs);
          const VisibleKeys keys(one.p, mask);
          std::vector<double> rq(q_item), rk(kv_item), rv(kv_item);
          reference_softmax_backward(one.p, one.tensors(), keys, dout.data() + b * q_item, {}, {rq.data(), rk.data(), rv.data()});
          for (std::size_t e = 0; e < q_item; ++e) diff = std::max(diff, std::abs(rq[e] - dq[b * q_item + e]));
          for (std::size_t e = 0; e < kv_item; ++e)
            diff = std::max({diff, std::abs(rk[e] - dk[b * kv_item + e]), std::abs(rv[e] - dv[b * kv_item + e])});
          for (const auto* g : {&rq, &rk, &rv})
            for (double x : *g) mag = std::max(mag, std::abs(x));
        }
        CHECK(diff < 1e-12);
        CHECK(mag > 1e-2);  // not vacuous (dV is small where a row spreads over many keys)
        for (Isa isa : supported_isas()) {
          CAPTURE(isa_name(isa));
          auto plan = variant->plan(p, isa);
          REQUIRE(plan->gives_backward());
          std::vector<float> o(p.q_elems()), lse(static_cast<std::size_t>(p.B) * p.H * p.Nq);
          std::vector<float> gq(p.q_elems(), NAN), gk(p.kv_elems(), NAN), gv(p.kv_elems(), NAN);
          plan->run(in.tensors(), {o.data(), lse.data()});
          plan->run_backward(in.tensors(), o.data(), lse.data(), dout.data(), {gq.data(), gk.data(), gv.data()});
          // As the flash backward's own test: float32 sums over the visible keys or rows.
          CHECK(test::rel_err(gq, dq) <= 1e-5);
          CHECK(test::rel_err(gk, dk) <= 1e-5);
          CHECK(test::rel_err(gv, dv) <= 1e-5);
        }
      }
}

TEST_CASE("block_topk refuses blocks that are not whole engine tiles, and has no static rule") {
  for (const char* spec : {"block_topk:block=32", "block_topk:block=100", "block_topk:block=1"}) {
    CAPTURE(spec);
    try {
      make_variant(spec);
      FAIL("accepted a block that cuts engine tiles");
    } catch (const UserError& e) {
      CHECK(std::string(e.what()).find("multiple of 64") != std::string::npos);
    }
  }
  Problem p;
  p.Nq = p.Nk = 128, p.D = 16;
  CHECK(make_variant("block_topk:block=256")->unsupported_reason(p).empty());
  CHECK(make_variant("block_topk")->unsupported_reason(p).empty());
}
