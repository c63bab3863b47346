// The AMX prefill paths (kernels/native/amx_bf16_products.hpp, amx_int8_products.hpp) where this
// CPU has the amx level: listed first for bf16 and int8, against float64 with the bf16 / int8
// bounds on every softmax variant and odd shapes (N = 1, N not a multiple of 16/32/64, D = 1,
// 40, 80, 256, Nq != Nk both ways, GQA/MQA, causal, lens, softcap, ALiBi), and against the
// vdpbf16ps / vpdpbusd paths they must agree with. On a CPU without AMX the level is absent and
// the tests say so.
#include <doctest/doctest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "impl_list.hpp"
#include "local_inputs.hpp"
#include "masked_softmax_variant.hpp"
#include "precision.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
constexpr double kUbf16 = 0x1p-9;  // unit roundoff of bfloat16
constexpr double kUf32 = 0x1p-24;

const FlashForwardImpl* find_impl(const std::string& name) {
  for (const FlashForwardImpl& impl : flash_forward_impls())
    if (impl.name == name) return &impl;
  return nullptr;
}

std::vector<float> run_impl(const Variant& v, const Problem& p, const Tensors& t, const FlashForwardImpl& impl) {
  const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(&v);
  REQUIRE(masked);
  std::vector<float> out(p.q_elems(), NAN);
  masked->plan_with(p, impl)->run(t, {out.data(), nullptr});
  return out;
}

test::Inputs rounded_bf16(const test::Inputs& in) {
  test::Inputs r = in;
  for (auto* t : {&r.q, &r.k, &r.v})
    for (float& x : *t) x = round_to_bf16(x);
  return r;
}

double max_abs(const float* x, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::abs(x[i])));
  return m;
}
template <class T>
double max_abs_diff(const std::vector<float>& a, const std::vector<T>& b) {
  double m = 0;
  for (std::size_t i = 0; i < b.size(); ++i) m = std::max(m, std::isnan(a[i]) ? INFINITY : std::abs(double(a[i]) - double(b[i])));
  return m;
}
double rel_frobenius(const std::vector<float>& a, const std::vector<float>& b) {
  double d2 = 0, b2 = 0;
  for (std::size_t i = 0; i < b.size(); ++i) d2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), b2 += double(b[i]) * b[i];
  return b2 > 0 ? std::sqrt(d2 / b2) : std::sqrt(d2);
}
double cos_sim(const std::vector<float>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < b.size(); ++i) ab += a[i] * b[i], aa += double(a[i]) * a[i], bb += b[i] * b[i];
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

struct Shape {
  int B, H, Hkv, Nq, Nk, D;
  bool lens;
};
// Odd shapes for 16-row tiles and 16/32/64-key blocks: N = 1, Nq != Nk both ways, GQA and MQA,
// D = 1, 3, 33, 40, 80, 128, 256, and rows left over after whole 16-row blocks.
constexpr Shape kShapes[] = {{1, 2, 1, 100, 100, 64, false}, {1, 4, 2, 17, 300, 40, false}, {2, 2, 2, 130, 65, 80, false},
                             {1, 3, 1, 65, 65, 1, false},    {1, 2, 2, 70, 200, 3, false},  {1, 1, 1, 1, 1, 2, false},
                             {1, 2, 1, 90, 90, 256, false},  {3, 2, 1, 100, 100, 33, true}, {1, 8, 1, 40, 129, 128, false},
                             {1, 2, 2, 31, 47, 80, false}};
constexpr const char* kVariants[] = {"dense", "window:left=50,right=0", "window:left=7,right=9", "sink:sink=4,window=30",
                                     "dilated:left=80,dilation=2", "block_sparse:pattern=bigbird,block=16,random=1",
                                     "dense:softcap=5", "dense:alibi=1"};
}  // namespace

TEST_CASE("the amx level: detected with its tile state, absent (and said so) on CPUs without it") {
  Isa parsed;
  CHECK(parse_isa("amx", parsed));
  CHECK(parsed == Isa::amx);
  CHECK(std::string(isa_name(Isa::amx)) == "amx");
  const bool amx = cpu_supports(Isa::amx);
  const auto isas = supported_isas();
  CHECK((std::find(isas.begin(), isas.end(), Isa::amx) != isas.end()) == amx);
  if (amx) CHECK(cpu_supports(Isa::avx512bf16));  // amx is avx512bf16 plus tiles
  int amx_entries = 0;
  for (const FlashForwardImpl& impl : flash_forward_impls()) amx_entries += impl.isa == Isa::amx;
  CHECK(amx_entries == (amx ? 3 : 0));  // bf16 and int8 prefill, bf16 decode (test_decode_amx.cpp)
  if (!amx) {
    MESSAGE("this CPU has no AMX (or the OS refused the tile state): the amx level is absent, its tests skip");
    return;
  }
  CHECK(best_isa() == Isa::amx);
  // bf16 and int8 prefill at amx run the tiles, first in the list; --isa avx512bf16 still forces
  // vdpbf16ps / vpdpbusd and avx512 the emulated paths; f32 and f16 at amx are avx512 cases.
  Problem p;
  p.Nq = p.Nk = 100, p.D = 64;
  for (DType d : {DType::bf16, DType::int8}) {
    p.dtype = d;
    const std::string dt = dtype_name(d);
    const FlashForwardImpl* tiles = select_impl(flash_forward_impls(), p, Isa::amx);
    REQUIRE(tiles);
    CHECK(tiles->name == dt + "-flash-amx16x64-amx");
    CHECK(tiles->products == d);
    CHECK(select_impl(flash_forward_impls(), p, Isa::avx512bf16)->name ==
          dt + (d == DType::bf16 ? "-flash-dpbf16-6x4v-avx512bf16" : "-flash-vnni-6x4v-avx512bf16"));
    CHECK(select_impl(flash_forward_impls(), p, Isa::avx512)->name == dt + "-flash-emulated-6x4v-avx512");
    CHECK(case_isa(d, Isa::amx) == Isa::amx);
  }
  p.dtype = DType::f32;
  CHECK(select_impl(flash_forward_impls(), p, Isa::amx)->name == "f32-flash-6x4v-avx512");
  CHECK(case_isa(DType::f32, Isa::amx) == Isa::avx512);
  CHECK(case_isa(DType::f16, Isa::amx) == Isa::avx512);
  // Decode-sized problems keep the narrow-cache decode path.
  p.dtype = DType::bf16, p.Nq = 1;
  CHECK(select_impl(flash_forward_impls(), p, Isa::amx)->name.find("-decode-") != std::string::npos);
  // Through the variant API: auto picks the tiles.
  auto in = test::make_inputs(1, 2, 2, 64, 64, 32, false, 5);
  in.p.dtype = DType::bf16;
  CHECK(make_variant("dense")->plan(in.p, best_isa())->impl() == "bf16-flash-amx16x64-amx");
}

// Bounds as test_native_precision.cpp derives them. Against float64 attention on the bf16
// inputs: P rounded to bf16 moves each output by at most u_bf16 max|v| (plus float32
// accumulation), and that rounding must show (>= 1% of it). Against vdpbf16ps: the same rounded
// inputs and products, the scores differ only in float32 summation order (tdpbf16ps sums its
// pairs in another order), so most outputs agree to float32 accuracy and a few may differ by a
// probability that crossed a bf16 rounding boundary ("flip": <= 2 u_bf16 max|v| each, and far
// below, in Frobenius norm, what skipping P's rounding would give).
TEST_CASE("AMX bf16 on every softmax variant and odd shapes: float64 with bf16 bounds, and vdpbf16ps") {
  const FlashForwardImpl* tiles = find_impl("bf16-flash-amx16x64-amx");
  if (!tiles) return;
  const FlashForwardImpl* dot = find_impl("bf16-flash-dpbf16-6x4v-avx512bf16");
  const FlashForwardImpl* f32 = find_impl("f32-flash-6x4v-avx512");
  REQUIRE(dot);
  REQUIRE(f32);
  int cases = 0;
  for (const char* spec : kVariants) {
    const auto variant = make_variant(spec);
    for (const Shape& s : kShapes)
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 7);
        if (s.lens) in.p.lens = in.lens = {100, 37, 1};
        in.p.dtype = DType::bf16;
        if (!variant->unsupported_reason(in.p).empty()) continue;
        CAPTURE(std::string(spec));
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", causal, " lens=", s.lens);
        const test::Inputs stored = rounded_bf16(in);
        const auto ref = test::reference(*variant, stored);
        const double vmax = max_abs(stored.v.data(), stored.v.size());
        const auto got = run_impl(*variant, in.p, stored.tensors(), *tiles);
        const auto other = run_impl(*variant, in.p, stored.tensors(), *dot);
        const double err = max_abs_diff(got, ref);
        CHECK(err <= 1.5 * kUbf16 * vmax + 1e-5);
        if (s.Nk > 1 && s.D > 1) CHECK(err >= 0.01 * kUbf16 * vmax);  // P really rounded
        CHECK(max_abs_diff(got, other) <= 2 * kUbf16 * vmax + 1e-5);
        std::size_t far = 0;
        for (std::size_t i = 0; i < got.size(); ++i) far += std::abs(double(got[i]) - other[i]) > 64 * kUf32 * vmax;
        CHECK(far <= got.size() / 20 + 2);  // all but the flips agree to float32 accuracy
        Problem p32 = in.p;
        p32.dtype = DType::f32;
        const auto unrounded_p = run_impl(*variant, p32, stored.tensors(), *f32);
        CHECK(rel_frobenius(got, other) <= rel_frobenius(unrounded_p, other) / 4);
        ++cases;
      }
  }
  CHECK(cases >= 120);  // the loops really ran the AMX path
}

// int8: tdpbusd computes the same integers as vpdpbusd from the same quantisation, dequantised
// by the same float32 operations, so the scores, the softmax and P are bit-identical; only P.V
// differs: scale_d (P . codes) against P . (codes scale_d), float32 sums of up to Nk terms of
// |P_j v_j| (sum P_j <= l): |diff| <= (Nk + 4) u_f32 max|v|, the tight float32 bound. That the
// quantisation happened shows against exact float32 attention, and SageAttention's accuracy
// claim against float64.
TEST_CASE("AMX int8 on every softmax variant and odd shapes: the vpdpbusd path to float32 accuracy, and the quantisation") {
  const FlashForwardImpl* tiles = find_impl("int8-flash-amx16x64-amx");
  if (!tiles) return;
  const FlashForwardImpl* dot = find_impl("int8-flash-vnni-6x4v-avx512bf16");
  const FlashForwardImpl* f32 = find_impl("f32-flash-6x4v-avx512");
  REQUIRE(dot);
  REQUIRE(f32);
  int cases = 0;
  for (const char* spec : kVariants) {
    const auto variant = make_variant(spec);
    for (const Shape& s : kShapes)
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 9);
        if (s.lens) in.p.lens = in.lens = {100, 37, 1};
        in.p.dtype = DType::int8;
        if (!variant->unsupported_reason(in.p).empty()) continue;
        CAPTURE(std::string(spec));
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", causal, " lens=", s.lens);
        const StoredInputs stored = store_inputs(in.p, in.tensors());  // V per channel
        const double vmax = max_abs(stored.tensors().v, in.p.kv_elems());
        const auto got = run_impl(*variant, in.p, stored.tensors(), *tiles);
        const auto other = run_impl(*variant, in.p, stored.tensors(), *dot);
        CHECK(max_abs_diff(got, other) <= (s.Nk + 4) * kUf32 * vmax);
        Problem p32 = in.p;
        p32.dtype = DType::f32;
        const auto float32 = run_impl(*variant, p32, in.tensors(), *f32);
        if (s.Nk > 1 && s.D > 1) CHECK(rel_frobenius(got, float32) >= 1e-4);  // really quantised
        ++cases;
      }
  }
  CHECK(cases >= 120);
}

TEST_CASE("AMX int8 keeps cosine similarity >= 0.999 on gaussian and local inputs; AMX bf16 rel_err <= 2e-2") {
  const FlashForwardImpl* int8 = find_impl("int8-flash-amx16x64-amx");
  const FlashForwardImpl* bf16 = find_impl("bf16-flash-amx16x64-amx");
  if (!int8 || !bf16) return;
  const auto dense = make_variant("dense");
  for (bool local : {false, true})
    for (int D : {40, 64, 128})
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(1, 2, 1, 300, 300, D, causal, 21);
        if (local) fill_local_inputs(in.p, 21, in.q.data(), in.k.data(), in.v.data());
        INFO("local=", local, " D=", D, " causal=", causal);
        const auto exact = test::reference(*dense, in);  // float64 on the original float32 inputs
        double omax = 0;
        for (double x : exact) omax = std::max(omax, std::abs(x));
        in.p.dtype = DType::int8;
        const StoredInputs q8 = store_inputs(in.p, in.tensors());
        const double c = cos_sim(run_impl(*dense, in.p, q8.tensors(), *int8), exact);
        CHECK(c >= 0.999);
        CHECK(c < 1 - 1e-7);  // quantised, not float32
        in.p.dtype = DType::bf16;
        const StoredInputs b16 = store_inputs(in.p, in.tensors());
        const auto got = run_impl(*dense, in.p, b16.tensors(), *bf16);
        CHECK(max_abs_diff(got, exact) <= 2e-2 * omax);
        CHECK(cos_sim(got, exact) >= 0.9999);
      }
}

// A tile configuration per OpenMP thread: two threads, one problem with many query tiles, the
// same result as one thread (each thread's rows are independent), and a second call after the
// tiles were released.
TEST_CASE("AMX prefill on two threads equals one thread, call after call") {
  const FlashForwardImpl* tiles = find_impl("bf16-flash-amx16x64-amx");
  if (!tiles) return;
  const auto dense = make_variant("dense");
  auto in = test::make_inputs(2, 3, 1, 200, 150, 72, true, 3);
  in.p.dtype = DType::bf16;
  const test::Inputs stored = rounded_bf16(in);
  const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(dense.get());
  REQUIRE(masked);
  std::vector<float> one(in.p.q_elems()), two(in.p.q_elems()), again(in.p.q_elems());
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  masked->plan_with(in.p, *tiles)->run(stored.tensors(), {one.data(), nullptr});
  omp_set_num_threads(2);
  masked->plan_with(in.p, *tiles)->run(stored.tensors(), {two.data(), nullptr});
  masked->plan_with(in.p, *tiles)->run(stored.tensors(), {again.data(), nullptr});
  omp_set_num_threads(saved);
  CHECK(max_abs_diff(two, one) == 0.0);
  CHECK(max_abs_diff(again, one) == 0.0);
}
