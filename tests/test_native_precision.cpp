// The native prefill paths on this CPU, when it has avx512bf16: bf16 (vdpbf16ps,
// kernels/native/bf16_products.hpp) and int8 (vpdpbusd, kernels/native/int8_products.hpp).
// Against float64 with the format's bounds on every softmax variant and odd shapes, against
// the emulated path (same rounding of inputs and of P, same quantisation), and tests that fail
// if a path secretly computes in float32 or rounds ties the wrong way.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "impl_list.hpp"
#include "masked_softmax_variant.hpp"
#include "precision.hpp"
#include "local_inputs.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
constexpr double kUbf16 = 0x1p-9;  // unit roundoff of bfloat16 (8 significant bits)

const FlashForwardImpl* find_impl(const std::string& prefix) {
  for (const FlashForwardImpl& impl : flash_forward_impls())
    if (impl.name.rfind(prefix, 0) == 0) return &impl;
  return nullptr;
}
const FlashForwardImpl* native_bf16() { return find_impl("bf16-flash-dpbf16-"); }

std::vector<float> run_impl(const Variant& v, const Problem& p, const Tensors& t, const FlashForwardImpl& impl) {
  const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(&v);
  REQUIRE(masked);
  std::vector<float> out(p.q_elems(), NAN);
  masked->plan_with(p, impl)->run(t, {out.data(), nullptr});
  return out;
}

// The inputs as bf16 values (what store_inputs gives), as test inputs.
test::Inputs rounded(const test::Inputs& in) {
  test::Inputs r = in;
  for (auto* t : {&r.q, &r.k, &r.v})
    for (float& x : *t) x = round_to_bf16(x);
  return r;
}

double max_abs(const std::vector<float>& x) {
  double m = 0;
  for (float v : x) m = std::max(m, static_cast<double>(std::abs(v)));
  return m;
}
double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < b.size(); ++i) m = std::max(m, std::isnan(a[i]) ? INFINITY : std::abs(a[i] - b[i]));
  return m;
}
double rel_frobenius(const std::vector<float>& a, const std::vector<float>& b) {
  double d2 = 0, b2 = 0;
  for (std::size_t i = 0; i < b.size(); ++i)
    d2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), b2 += double(b[i]) * b[i];
  return b2 > 0 ? std::sqrt(d2 / b2) : std::sqrt(d2);
}
}  // namespace

TEST_CASE("the native bf16 path is listed exactly when the CPU has avx512bf16, ahead of the emulated ones") {
  const FlashForwardImpl* native = native_bf16();
  CHECK((native != nullptr) == cpu_supports(Isa::avx512bf16));
  if (!native) return;
  CHECK(native->name == "bf16-flash-dpbf16-6x4v-avx512bf16");
  CHECK(native->products == DType::bf16);
  Problem p;
  p.Nq = p.Nk = 100, p.D = 64, p.dtype = DType::bf16;
  CHECK(select_impl(flash_forward_impls(), p, Isa::avx512bf16) == native);
  // --isa avx512 (or lower) forces the emulated path; f32 never takes the native one.
  CHECK(select_impl(flash_forward_impls(), p, Isa::avx512)->name == "bf16-flash-emulated-6x4v-avx512");
  p.dtype = DType::f32;
  CHECK(select_impl(flash_forward_impls(), p, Isa::avx512bf16)->name == "f32-flash-6x4v-avx512");
  CHECK(case_isa(DType::f32, Isa::avx512bf16) == Isa::avx512);
  CHECK(case_isa(DType::bf16, Isa::avx512bf16) == Isa::avx512bf16);
}

// Bounds. Against float64 attention on the bf16 inputs: P rounded to bf16 moves each output by at
// most u_bf16 max|v| (sum_j |dP_j| |v_j| / l <= u_bf16 max|v|), plus float32 accumulation; it must
// also show that rounding (>= 1% of it: a path that kept P in float32 would be ~1e-6).
// Against the emulated path: both round inputs and P the same way; their scores differ only by
// float32 accumulation order, which can move a probability across a bf16 rounding boundary (a
// "flip", 2 u_bf16 P_j |v_j| / l each, rare): the bound is the flips' worst case per element and
// a Frobenius bound far below what skipping the P rounding would give (~u_bf16 / 4).
TEST_CASE("native bf16 on every softmax variant and odd shapes: float64 with bf16 bounds, and the emulated path") {
  const FlashForwardImpl* native = native_bf16();
  if (!native) return;
  const FlashForwardImpl* emulated = find_impl("bf16-flash-emulated-6x4v-avx512");
  const FlashForwardImpl* f32 = find_impl("f32-flash-6x4v-avx512");
  REQUIRE(emulated);
  REQUIRE(f32);
  struct Shape {
    int B, H, Hkv, Nq, Nk, D;
    bool lens;
  };
  const Shape shapes[] = {{1, 2, 1, 100, 100, 64, false}, {1, 4, 2, 17, 300, 40, false}, {2, 2, 2, 130, 65, 80, false},
                          {1, 3, 1, 65, 65, 1, false},    {1, 2, 2, 70, 200, 3, false},  {1, 1, 1, 1, 1, 2, false},
                          {1, 2, 1, 90, 90, 256, false},  {3, 2, 1, 100, 100, 33, true}, {1, 8, 1, 40, 129, 128, false}};
  for (const char* spec : {"dense", "window:left=50,right=0", "window:left=7,right=9", "sink:sink=4,window=30",
                           "dilated:left=80,dilation=2", "block_sparse:pattern=bigbird,block=16,random=1",
                           "dense:softcap=5", "dense:alibi=1"}) {
    const auto variant = make_variant(spec);
    for (const Shape& s : shapes)
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 7);
        if (s.lens) in.p.lens = in.lens = {100, 37, 1};
        in.p.dtype = DType::bf16;
        if (!variant->unsupported_reason(in.p).empty()) continue;
        CAPTURE(std::string(spec));
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", causal, " lens=", s.lens);
        const test::Inputs stored = rounded(in);
        const auto ref = test::reference(*variant, stored);  // exact attention on the bf16 inputs
        const double vmax = max_abs(stored.v);
        const auto got = run_impl(*variant, in.p, stored.tensors(), *native);
        const auto emu = run_impl(*variant, in.p, stored.tensors(), *emulated);
        const double err = max_abs_diff(got, ref);
        CHECK(err <= 1.5 * kUbf16 * vmax + 1e-5);
        if (s.Nk > 1 && s.D > 1) CHECK(err >= 0.01 * kUbf16 * vmax);  // P really rounded
        double diff = 0;
        for (std::size_t i = 0; i < got.size(); ++i) diff = std::max(diff, double(std::abs(got[i] - emu[i])));
        CHECK(diff <= 2 * kUbf16 * vmax + 1e-5);
        Problem p32 = in.p;
        p32.dtype = DType::f32;
        const auto unrounded_p = run_impl(*variant, p32, stored.tensors(), *f32);
        const double flips = rel_frobenius(got, emu), skipped = rel_frobenius(unrounded_p, emu);
        CHECK(flips <= skipped / 4);
      }
  }
}

TEST_CASE("native bf16 rounds its inputs to nearest even, not up and not away, and not keep them float32") {
  const FlashForwardImpl* native = native_bf16();
  if (!native) return;
  const auto dense = make_variant("dense");
  // One key: P = 1 and O = V as stored. Ties go to the even neighbour: 1 + 2^-8 -> 1,
  // 1 + 3 2^-8 -> 1 + 2^-6; above a tie up, below it down.
  test::Inputs one = test::make_inputs(1, 1, 1, 20, 1, 4, false, 3);
  one.p.dtype = DType::bf16;
  one.v = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f, -(1.0f + 0x1p-8f - 0x1p-20f)};
  const auto o = run_impl(*dense, one.p, one.tensors(), *native);
  for (int i = 0; i < one.p.Nq; ++i) {
    CHECK(o[i * 4 + 0] == 1.0f);
    CHECK(o[i * 4 + 1] == 1.0f + 0x1p-6f);
    CHECK(o[i * 4 + 2] == 1.0f + 0x1p-7f);
    CHECK(o[i * 4 + 3] == -1.0f);
  }
  // Q and K: unrounded random inputs given straight to the native plan must give what the
  // emulated path gives on inputs rounded to nearest even, and differ clearly from float32
  // products and from inputs rounded with ties away from zero.
  test::Inputs in = test::make_inputs(1, 2, 1, 80, 90, 24, true, 11);
  in.p.dtype = DType::bf16;
  // Put a tie into every Q and K element: keep 8 significant bits plus the half bit.
  for (auto* t : {&in.q, &in.k})
    for (float& x : *t) {
      uint32_t b;
      std::memcpy(&b, &x, 4);
      b = (b & 0xFFFF0000u) | 0x8000u;
      std::memcpy(&x, &b, 4);
    }
  const test::Inputs even = rounded(in);
  test::Inputs away = in;
  for (auto* t : {&away.q, &away.k, &away.v})
    for (float& x : *t) {
      uint32_t b;
      std::memcpy(&b, &x, 4);
      b = (b + 0x8000u) & 0xFFFF0000u;
      std::memcpy(&x, &b, 4);
    }
  const FlashForwardImpl* emulated = find_impl("bf16-flash-emulated-6x4v-avx512");
  const FlashForwardImpl* f32 = find_impl("f32-flash-6x4v-avx512");
  REQUIRE(emulated);
  REQUIRE(f32);
  const auto got = run_impl(*dense, in.p, in.tensors(), *native);
  const auto want = run_impl(*dense, in.p, even.tensors(), *emulated);
  const auto wrong_way = run_impl(*dense, in.p, away.tensors(), *emulated);
  Problem p32 = in.p;
  p32.dtype = DType::f32;
  const auto float32 = run_impl(*dense, p32, in.tensors(), *f32);
  const double ok = rel_frobenius(got, want);
  CHECK(ok <= kUbf16 / 16);
  CHECK(rel_frobenius(got, wrong_way) >= 4 * ok);
  CHECK(rel_frobenius(got, wrong_way) >= kUbf16 / 8);
  CHECK(rel_frobenius(got, float32) >= kUbf16 / 8);
}

TEST_CASE("native bf16 through the variant API: auto picks it, --isa avx512 the emulated path") {
  if (!native_bf16()) return;
  auto in = test::make_inputs(1, 2, 2, 64, 64, 32, false, 5);
  in.p.dtype = DType::bf16;
  const auto dense = make_variant("dense");
  CHECK(dense->plan(in.p, Isa::avx512bf16)->impl() == native_bf16()->name);
  CHECK(dense->plan(in.p, Isa::avx512bf16)->products() == DType::bf16);
  CHECK(dense->plan(in.p, Isa::avx512)->impl() == "bf16-flash-emulated-6x4v-avx512");
  CHECK(dense->plan(in.p, Isa::avx512)->products() == DType::f32);
}

namespace {
const FlashForwardImpl* native_int8() { return find_impl("int8-flash-vnni-"); }

double cos_sim(const std::vector<float>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < b.size(); ++i) ab += a[i] * b[i], aa += double(a[i]) * a[i], bb += b[i] * b[i];
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}
}  // namespace

TEST_CASE("native int8 is listed with the native bf16 path, and only for int8") {
  const FlashForwardImpl* native = native_int8();
  CHECK((native != nullptr) == cpu_supports(Isa::avx512bf16));
  if (!native) return;
  CHECK(native->name == "int8-flash-vnni-6x4v-avx512bf16");
  CHECK(native->products == DType::int8);
  Problem p;
  p.Nq = p.Nk = 100, p.D = 64, p.dtype = DType::int8;
  CHECK(select_impl(flash_forward_impls(), p, Isa::avx512bf16) == native);
  CHECK(select_impl(flash_forward_impls(), p, Isa::avx512)->name == "int8-flash-emulated-6x4v-avx512");
}

// Against the emulated path: the same integers (the quantisation is the same arithmetic), the
// scores differ by float32 rounding order only, so as for bf16 only P's rare rounding flips
// separate them. That the quantisation really happens shows against exact float32 attention.
TEST_CASE("native int8 on every softmax variant and odd shapes: the emulated path, and what quantisation costs") {
  const FlashForwardImpl* native = native_int8();
  if (!native) return;
  const FlashForwardImpl* emulated = find_impl("int8-flash-emulated-6x4v-avx512");
  const FlashForwardImpl* f32 = find_impl("f32-flash-6x4v-avx512");
  REQUIRE(emulated);
  REQUIRE(f32);
  struct Shape {
    int B, H, Hkv, Nq, Nk, D;
    bool lens;
  };
  const Shape shapes[] = {{1, 2, 1, 100, 100, 64, false}, {1, 4, 2, 17, 300, 40, false}, {2, 2, 2, 130, 65, 80, false},
                          {1, 3, 1, 65, 65, 1, false},    {1, 2, 2, 70, 200, 3, false},  {1, 1, 1, 1, 1, 2, false},
                          {1, 2, 1, 90, 90, 256, false},  {3, 2, 1, 100, 100, 33, true}, {1, 8, 1, 40, 129, 128, false}};
  for (const char* spec : {"dense", "window:left=50,right=0", "window:left=7,right=9", "sink:sink=4,window=30",
                           "dilated:left=80,dilation=2", "block_sparse:pattern=bigbird,block=16,random=1",
                           "dense:softcap=5", "dense:alibi=1"}) {
    const auto variant = make_variant(spec);
    for (const Shape& s : shapes)
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 9);
        if (s.lens) in.p.lens = in.lens = {100, 37, 1};
        in.p.dtype = DType::int8;
        if (!variant->unsupported_reason(in.p).empty()) continue;
        CAPTURE(std::string(spec));
        INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", causal, " lens=", s.lens);
        const StoredInputs stored = store_inputs(in.p, in.tensors());  // V per channel
        const auto got = run_impl(*variant, in.p, stored.tensors(), *native);
        const auto emu = run_impl(*variant, in.p, stored.tensors(), *emulated);
        // The emulated arithmetic without P's rounding: float32 on the quantised Q, K and V.
        std::vector<float> qq(in.p.q_elems()), kq(in.p.kv_elems());
        quantize_qk_int8(in.p, stored.tensors(), qq.data(), kq.data());
        Problem p32 = in.p;
        p32.dtype = DType::f32;
        const auto unrounded_p = run_impl(*variant, p32, {qq.data(), kq.data(), stored.tensors().v}, *f32);
        const auto float32 = run_impl(*variant, p32, in.tensors(), *f32);
        double vmax = 0, diff = 0;
        for (std::size_t i = 0; i < in.p.kv_elems(); ++i) vmax = std::max(vmax, double(std::abs(stored.tensors().v[i])));
        for (std::size_t i = 0; i < got.size(); ++i) diff = std::max(diff, std::isnan(got[i]) ? INFINITY : double(std::abs(got[i] - emu[i])));
        CHECK(diff <= 2 * kUbf16 * vmax + 1e-5);
        const double flips = rel_frobenius(got, emu);
        CHECK(flips <= rel_frobenius(unrounded_p, emu) / 4);
        if (s.Nk > 1 && s.D > 1) CHECK(rel_frobenius(got, float32) >= 4 * flips + 1e-4);  // really quantised
      }
  }
}

// SageAttention's claim, as SPEC's target states it: cosine similarity >= 0.999 against exact
// attention on the original float32 inputs, on gaussian and on local (positional) inputs.
TEST_CASE("native int8 keeps cosine similarity >= 0.999 on gaussian and local inputs") {
  const FlashForwardImpl* native = native_int8();
  if (!native) return;
  const auto dense = make_variant("dense");
  for (bool local : {false, true})
    for (int D : {40, 64, 128})
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(1, 2, 1, 300, 300, D, causal, 21);
        if (local) fill_local_inputs(in.p, 21, in.q.data(), in.k.data(), in.v.data());
        in.p.dtype = DType::int8;
        INFO("local=", local, " D=", D, " causal=", causal);
        const StoredInputs stored = store_inputs(in.p, in.tensors());
        const auto got = run_impl(*dense, in.p, stored.tensors(), *native);
        Problem p32 = in.p;
        p32.dtype = DType::f32;
        test::Inputs exact = in;
        exact.p = p32;
        const double c = cos_sim(got, test::reference(*dense, exact));
        CHECK(c >= 0.999);
        CHECK(c < 1 - 1e-7);  // quantised, not float32
      }
}
