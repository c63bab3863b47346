// The vector vocabulary every kernel is written in: an xsimd batch for the SIMD ISAs and a
// one-lane stand-in for the scalar path, with the same operations on both.
//
// Only include this from kernel templates; instantiate them in kernels/isa/<isa>.cpp
// (one definition rule: never use a default-arch batch in a shared header).
#pragma once
#include <immintrin.h>  // shuffles for vmax_all, declared for every target
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace attn::simd {

// A one-lane "vector" so the kernels compile unchanged for the scalar path.
struct Scalar1 {
  static constexpr std::size_t size = 1;
  float v;
  Scalar1() = default;
  Scalar1(float x) : v(x) {}  // NOLINT: broadcast, like xsimd::batch(float)
  static Scalar1 load_unaligned(const float* p) { return Scalar1(*p); }
  static Scalar1 load_aligned(const float* p) { return Scalar1(*p); }
  void store_unaligned(float* p) const { *p = v; }
  void store_aligned(float* p) const { *p = v; }
  float get(std::size_t) const { return v; }
  friend Scalar1 operator+(Scalar1 a, Scalar1 b) { return a.v + b.v; }
  friend Scalar1 operator-(Scalar1 a, Scalar1 b) { return a.v - b.v; }
  friend Scalar1 operator*(Scalar1 a, Scalar1 b) { return a.v * b.v; }
  friend Scalar1 operator/(Scalar1 a, Scalar1 b) { return a.v / b.v; }
};

// Tag for the scalar path, used where the xsimd arch would be.
struct scalar_arch {};

template <class Arch>
struct VecOf {
  using type = xsimd::batch<float, Arch>;
};
template <>
struct VecOf<scalar_arch> {
  using type = Scalar1;
};
template <class Arch>
using Vec = typename VecOf<Arch>::type;

// ---- operations, overloaded for xsimd batches and Scalar1 ----
template <class A>
inline xsimd::batch<float, A> vfma(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                   const xsimd::batch<float, A>& c) {
  return xsimd::fma(a, b, c);
}
// Plain multiply-add: std::fma would be a library call on CPUs without FMA.
inline Scalar1 vfma(Scalar1 a, Scalar1 b, Scalar1 c) { return a.v * b.v + c.v; }

template <class A>
inline xsimd::batch<float, A> vmax(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) {
  return xsimd::max(a, b);
}
inline Scalar1 vmax(Scalar1 a, Scalar1 b) { return std::max(a.v, b.v); }

template <class A>
inline xsimd::batch<float, A> vmin(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) {
  return xsimd::min(a, b);
}
inline Scalar1 vmin(Scalar1 a, Scalar1 b) { return std::min(a.v, b.v); }

// Combines all lanes with op, the result broadcast to every lane, by log2(W) shuffle + op steps
// (xsimd 8.1 has no reduce_max, and its hadd takes a longer chain to a scalar). Keeps row maxima
// in registers.
template <class A, class Op>
inline xsimd::batch<float, A> reduce_all(const xsimd::batch<float, A>& a, Op op) {
  using B = xsimd::batch<float, A>;
  B x = a;
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    x = op(x, B(_mm512_shuffle_f32x4(x, x, 0x4E)));
    x = op(x, B(_mm512_shuffle_f32x4(x, x, 0xB1)));
    x = op(x, B(_mm512_permute_ps(x, 0x4E)));
    return op(x, B(_mm512_permute_ps(x, 0xB1)));
  } else if constexpr (std::is_base_of<xsimd::avx, A>::value) {
    x = op(x, B(_mm256_permute2f128_ps(x, x, 1)));
    x = op(x, B(_mm256_permute_ps(x, 0x4E)));
    return op(x, B(_mm256_permute_ps(x, 0xB1)));
  } else {
    static_assert(std::is_base_of<xsimd::sse2, A>::value, "reduce_all: no shuffle sequence for this arch");
    x = op(x, B(_mm_shuffle_ps(x, x, 0x4E)));
    return op(x, B(_mm_shuffle_ps(x, x, 0xB1)));
  }
}

// The max of all lanes, broadcast to every lane.
template <class A>
inline xsimd::batch<float, A> vmax_all(const xsimd::batch<float, A>& a) {
  return reduce_all(a, [](const xsimd::batch<float, A>& x, const xsimd::batch<float, A>& y) { return xsimd::max(x, y); });
}
inline Scalar1 vmax_all(Scalar1 a) { return a; }

// The sum of all lanes.
template <class A>
inline float hsum(const xsimd::batch<float, A>& a) {
  return reduce_all(a, [](const xsimd::batch<float, A>& x, const xsimd::batch<float, A>& y) { return x + y; }).get(0);
}
inline float hsum(Scalar1 a) { return a.v; }

// Lane t of an interleave of the first (Hi = false) or second halves of two W-lane vectors.
template <bool Hi, int W>
constexpr int zip_lane(int t) {
  return (Hi ? W / 2 : 0) + t / 2 + (t % 2) * W;
}

template <bool Hi, class Reg, int... T>
inline Reg zip_regs(Reg a, Reg b, std::integer_sequence<int, T...>) {
  return __builtin_shufflevector(a, b, zip_lane<Hi, sizeof...(T)>(T)...);
}

// Interleaves the first (lo) or second (hi) halves of a and b across the whole vector:
// zip_half<false>((a0..), (b0..)) = (a0, b0, a1, b1, ...). The compiler turns the constant
// shuffle into the arch's own instructions (vpermt2ps, vunpcklps + vperm2f128, unpcklps).
template <bool Hi, class A>
inline xsimd::batch<float, A> zip_half(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) {
  using Reg = typename xsimd::batch<float, A>::register_type;
  constexpr int W = static_cast<int>(xsimd::batch<float, A>::size);
  return zip_regs<Hi>(static_cast<Reg>(a), static_cast<Reg>(b), std::make_integer_sequence<int, W>{});
}

// Transposes W rows of W floats in registers: x[i][j] becomes x[j][i]. log2(W) rounds of
// interleaving row i with row i + W/2 (the perfect shuffle), W shuffles per round.
template <class A>
inline void transpose_square(xsimd::batch<float, A>* x) {
  using B = xsimd::batch<float, A>;
  constexpr int W = static_cast<int>(B::size);
  // Fully unrolled, so that x and y stay in registers.
  _Pragma("GCC unroll 4") for (int round = 1; round < W; round *= 2) {
    B y[W];
    _Pragma("GCC unroll 8") for (int i = 0; i < W / 2; ++i) {
      y[2 * i] = zip_half<false>(x[i], x[i + W / 2]);
      y[2 * i + 1] = zip_half<true>(x[i], x[i + W / 2]);
    }
    _Pragma("GCC unroll 16") for (int i = 0; i < W; ++i) x[i] = y[i];
  }
}
inline void transpose_square(Scalar1*) {}

// xsimd 8.1 has no horizontal max: spill and scan.
template <class A>
inline float hmax(const xsimd::batch<float, A>& a) {
  alignas(64) float lanes[xsimd::batch<float, A>::size];
  a.store_aligned(lanes);
  float m = lanes[0];
  for (std::size_t i = 1; i < xsimd::batch<float, A>::size; ++i) m = std::max(m, lanes[i]);
  return m;
}
inline float hmax(Scalar1 a) { return a.v; }

// 2^x for x <= 127, good to ~2 ulp; returns exactly 0 for x <= -127 (and for -inf),
// which is what masked scores need. Cephes exp2f polynomial on [-0.5, 0.5].
template <class V>
inline V exp2_poly(V f) {
  V p(1.535336188319500e-4f);
  p = vfma(p, f, V(1.339887440266574e-3f));
  p = vfma(p, f, V(9.618437357674640e-3f));
  p = vfma(p, f, V(5.550332471162809e-2f));
  p = vfma(p, f, V(2.402264791363012e-1f));
  p = vfma(p, f, V(6.931472028550421e-1f));
  return vfma(p, f, V(1.0f));
}

template <class A>
inline xsimd::batch<float, A> vexp2(xsimd::batch<float, A> x) {
  using B = xsimd::batch<float, A>;
  using I = xsimd::batch<int32_t, A>;
  x = xsimd::min(xsimd::max(x, B(-127.0f)), B(127.0f));
  // Adding 1.5 * 2^23 rounds x to the nearest integer n, kept in the low mantissa bits of t.
  const B magic(12582912.0f);
  const B t = x + magic;
  const B f = x - (t - magic);  // in [-0.5, 0.5]
  // (bits(t) + 127) << 23 drops the magic's bits and leaves the exponent field of 2^n;
  // n = -127 gives an all-zero float, so underflow is an exact 0.
  const I e = (xsimd::bitwise_cast<I>(t) + I(127)) << 23;
  return exp2_poly(f) * xsimd::bitwise_cast<B>(e);
}
inline Scalar1 vexp2(Scalar1 x) {
  float c = std::min(std::max(x.v, -127.0f), 127.0f);
  return c <= -127.0f ? 0.0f : std::exp2(c);
}

// 2^x for the online softmax, whose arguments are at most a few units above 0 (or -inf): same
// polynomial as vexp2, exactly 0 for x <= -125 (and -inf), so no result is subnormal. A
// subnormal result takes a microcode assist (vscalefps: ~40x the time of the vector): with
// scores spread over more than 125 (log2 units) a dense call ran 22x slower on AVX-512 with the
// cut at -150 (4k x 4k, D = 64, queries x 30), 1.5x on AVX2 with vexp2's at -127. A probability
// below 2^-125 of the row's largest weighs less than float32 can hold next to it. On AVX-512 the
// exponent is applied with vscalefps after a vrndscaleps, fewer instructions than vexp2's clamps
// and integer tricks, and the zeros come from a zero-mask, not from underflow.
template <class A>
inline xsimd::batch<float, A> vexp2_softmax(xsimd::batch<float, A> x) {
  using B = xsimd::batch<float, A>;
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) {
    // Above -125, so 2^n p >= 2^-125 / sqrt(2) is normal; NaN too, so a NaN score stays NaN
    // rather than becoming a weight of 0.
    const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-125.0f), _CMP_NLE_UQ);
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const B p = exp2_poly(B(_mm512_sub_ps(x, n)));  // f in [-0.5, 0.5] (NaN for -inf lanes)
    return _mm512_maskz_scalef_ps(live, p, n);
  } else {
    return xsimd::select(x <= B(-125.0f), B(0.0f), vexp2(x));
  }
}
inline Scalar1 vexp2_softmax(Scalar1 x) { return x.v <= -125.0f ? 0.0f : vexp2(x).v; }

// x rounded to the nearest bfloat16 (ties to even), kept as float32: what storing x as bf16
// and reading it back gives. For finite x (probabilities here); NaN is not preserved.
template <class A>
inline xsimd::batch<float, A> round_bf16(xsimd::batch<float, A> x) {
  using B = xsimd::batch<float, A>;
  using I = xsimd::batch<int32_t, A>;
  const I bits = xsimd::bitwise_cast<I>(x);
  const I rounded = (bits + I(0x7FFF) + ((bits >> 16) & I(1))) & I(static_cast<int32_t>(0xFFFF0000u));
  return xsimd::bitwise_cast<B>(rounded);
}
inline Scalar1 round_bf16(Scalar1 x) {
  uint32_t bits;
  __builtin_memcpy(&bits, &x.v, 4);
  bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
  float out;
  __builtin_memcpy(&out, &bits, 4);
  return out;
}

// 1/d for finite d >= 1: the CPU's reciprocal estimate (14 bits on AVX-512, 12 on AVX and SSE)
// refined by one Newton step r + r (1 - d r), relative error below 2^-21 (tests/test_ukernels.cpp),
// a few cycles of throughput where vdivps takes 5-16.
template <class A>
inline xsimd::batch<float, A> vrcp(xsimd::batch<float, A> d) {
  using B = xsimd::batch<float, A>;
  B r;
  if constexpr (std::is_base_of<xsimd::avx512f, A>::value) r = _mm512_rcp14_ps(d);
  else if constexpr (std::is_base_of<xsimd::avx, A>::value) r = _mm256_rcp_ps(d);
  else if constexpr (std::is_base_of<xsimd::sse2, A>::value) r = _mm_rcp_ps(d);
  else return B(1.0f) / d;
  return vfma(r, xsimd::fnma(d, r, B(1.0f)), r);
}
inline Scalar1 vrcp(Scalar1 d) { return 1.0f / d.v; }

// x clamped to [-c, c] with a NaN kept (minps/maxps return their second operand when either is
// NaN; std::min/max would return the bound).
// (vrangeps would clamp in one operation, but returns the bound for a NaN x.)
template <class A>
inline xsimd::batch<float, A> clamp_keep_nan(const xsimd::batch<float, A>& x, const xsimd::batch<float, A>& c) {
  return xsimd::max(-c, xsimd::min(c, x));
}
inline Scalar1 clamp_keep_nan(Scalar1 x, Scalar1 c) { return x.v > c.v ? c : x.v < -c.v ? -c.v : x.v; }

// tanh(u) ~ u P(u^2) / Q(u^2), a [9/7] rational fitted in float64 to minimise the relative error on
// |u| <= 9 (5.9e-7 with these float32 coefficients; scripts/fit_tanh.py), where float32's tanh is
// +-1 (1 - tanh(9) = 3e-8). P(0) = Q(0) = 1, so tanh(u) = u for tiny u; the one negative
// coefficient (P's last) cancels at most 1.14x in its Horner step. 1 / Q is vrcp's estimate and
// Newton step. Given y = c u (c > 0, exact or within rounding) and t = u^2, returns c tanh(u)
// as y P(t) / Q(t): softcap's cap * tanh(x / cap) without the multiplication by cap.
template <class V>
inline V tanh_rational(V y, V t) {
  V p(-5.095162958e-09f);
  p = simd::vfma(p, t, V(6.550257694e-06f));
  p = simd::vfma(p, t, V(2.612627111e-03f));
  p = simd::vfma(p, t, V(1.262943000e-01f));
  p = simd::vfma(p, t, V(1.0f));
  V q(1.860971824e-04f);
  q = simd::vfma(q, t, V(2.249171771e-02f));
  q = simd::vfma(q, t, V(4.596248567e-01f));
  q = simd::vfma(q, t, V(1.0f));
  return (y * p) * vrcp(q);
}

// tanh(x) without exp or division: x clamped to +-9, then tanh_rational. Relative error below
// 1.8e-6 over every float (tests/test_ukernels.cpp derives it), exactly odd, +-inf give +-1
// (within the bound), NaN stays NaN. 15 vector operations (clamp 2, x^2, 7 Horner FMAs, x P,
// reciprocal 3, product), no exp2's 10.
template <class V>
inline V vtanh(V x) {
  x = clamp_keep_nan(x, V(9.0f));
  return tanh_rational(x, x * x);
}

// x, with -inf in the lanes below b (NaN stays).
template <class A>
inline xsimd::batch<float, A> below_to_neg_inf(const xsimd::batch<float, A>& x, float b) {
  using B = xsimd::batch<float, A>;
  return xsimd::select(x < B(b), B(-std::numeric_limits<float>::infinity()), x);
}
inline Scalar1 below_to_neg_inf(Scalar1 x, float b) { return x.v < b ? -std::numeric_limits<float>::infinity() : x.v; }

// Whether every lane of t is at most b (false for a NaN lane).
template <class A>
inline bool all_at_most(const xsimd::batch<float, A>& t, const xsimd::batch<float, A>& b) {
  return xsimd::all(t <= b);
}
inline bool all_at_most(Scalar1 t, Scalar1 b) { return t.v <= b.v; }

// The softcap score modifier, cap tanh(x / cap) for cap > 0, given inv = 1 / cap (the engines
// work in the log2 domain: cap = log2(e) C), two ways. Scores are mostly well inside the cap (it
// is there for the outliers): where t = (x / cap)^2 <= 1, softcap_inside takes x S(t), S a
// degree-5 polynomial (tanh(u) ~ u S(u^2) on |u| <= 1 within 6.8e-7, scripts/fit_tanh.py), 6
// operations after t. softcap_anywhere takes every x: clamped to +-9 cap, x P / Q in place of
// cap (x / cap) P / Q, 16 operations. Both are odd and within vtanh's bound. Callers hoist the
// broadcasts out of their loops (and with them 9 cap).
template <class V>
inline V softcap_inside(V x, V t) {
  V s(-3.127002856e-03f);
  s = simd::vfma(s, t, V(1.690735854e-02f));
  s = simd::vfma(s, t, V(-5.176900700e-02f));
  s = simd::vfma(s, t, V(1.328851134e-01f));
  s = simd::vfma(s, t, V(-3.333028257e-01f));
  s = simd::vfma(s, t, V(1.0f));
  return x * s;
}
template <class V>
inline V softcap_anywhere(V x, V inv, V cap) {
  x = clamp_keep_nan(x, cap * V(9.0f));
  const V u = x * inv;
  return tanh_rational(x, u * u);
}
// One vector, the formula chosen for it (the micro-kernel f32-softcap-<isa>; the engines choose
// per row of a key tile, kernels/masked_attention.hpp modify_scores).
template <class V>
inline V vsoftcap(V x, V inv, V cap) {
  const V u = x * inv;
  const V t = u * u;
  return all_at_most(t, V(1.0f)) ? softcap_inside(x, t) : softcap_anywhere(x, inv, cap);
}

// e^x = 2^(x log2 e), same accuracy as vexp2; exactly 0 below about -88.
template <class V>
inline V vexp(V x) {
  return vexp2(x * V(1.4426950408889634f));
}

}  // namespace attn::simd
