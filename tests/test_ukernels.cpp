// Every named micro-kernel (kernels/ukernels.hpp) of every ISA this CPU runs, against float64
// loops, at odd sizes: a wrong index, a dropped vector or a bad polynomial fails here even when
// the end-to-end variant tests would average it away.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "aligned_buffer.hpp"
#include "masked_attention_args.hpp"
#include "test_util.hpp"
#include "ukernels.hpp"

using namespace attn;

namespace {
std::vector<float> gaussian(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}
}  // namespace

TEST_CASE("the micro-kernel lists name one entry per ISA this CPU runs") {
  // avx512bf16 and amx reuse the avx512 float32 micro-kernels.
  const std::size_t isas = static_cast<std::size_t>(test::float32_isa_tables());
  CHECK(ukernels().qk.size() == isas);
  CHECK(ukernels().pv.size() == isas);
  CHECK(ukernels().exp2.size() == isas);
  CHECK(ukernels().softcap.size() == isas);
  CHECK(ukernels().transpose.size() == isas);
  CHECK(ukernels().tn.size() == isas);
  CHECK(ukernels().qk.front().name.rfind("f32-qk-", 0) == 0);
}

TEST_CASE("qk micro-kernels: R rows x C vectors of keys, every D") {
  for (const QkUkernel& uk : ukernels().qk)
    for (int D : {1, 3, 40, 64, 129}) {
      CAPTURE(uk.name);
      CAPTURE(D);
      const int cols = uk.C * uk.W;
      const auto q = gaussian(static_cast<std::size_t>(uk.R) * D, 1);
      const auto k = gaussian(static_cast<std::size_t>(D) * kTileK, 2);
      AlignedBuffer kt(static_cast<std::size_t>(D) * kTileK), s(static_cast<std::size_t>(uk.R) * kTileK);
      for (std::size_t i = 0; i < k.size(); ++i) kt[i] = k[i];
      uk.fn(q.data(), D, kt.data(), s.data());
      double worst = 0;
      for (int r = 0; r < uk.R; ++r)
        for (int c = 0; c < cols; ++c) {
          double ref = 0, mag = 0;
          for (int d = 0; d < D; ++d) {
            ref += static_cast<double>(q[r * D + d]) * kt[static_cast<std::size_t>(d) * kTileK + c];
            mag += std::abs(static_cast<double>(q[r * D + d]) * kt[static_cast<std::size_t>(d) * kTileK + c]);
          }
          // float32 dot product of D terms: |error| <= D u sum|terms| (u = 2^-24).
          worst = std::max(worst, std::abs(s[r * kTileK + c] - ref) / (D * 0x1p-24 * mag + 1e-30));
        }
      CHECK(worst <= 1.0);
    }
}

TEST_CASE("pv micro-kernels: with and without the alpha rescale, any key span") {
  for (const PvUkernel& uk : ukernels().pv)
    for (bool rescale : {false, true}) {
      CAPTURE(uk.name);
      CAPTURE(rescale);
      const int Dp = uk.C * uk.W + uk.W;  // one vector more than the kernel writes
      const int jb = 3, je = 50;
      const auto p = gaussian(static_cast<std::size_t>(uk.R) * kTileK, 3);
      const auto v = gaussian(static_cast<std::size_t>(kTileK) * Dp, 4);
      const auto o0 = gaussian(static_cast<std::size_t>(uk.R) * Dp, 5);
      AlignedBuffer o(o0.size()), alpha(static_cast<std::size_t>(uk.R) * uk.W);
      for (std::size_t i = 0; i < o0.size(); ++i) o[i] = o0[i];
      for (int r = 0; r < uk.R; ++r)
        for (int l = 0; l < uk.W; ++l) alpha[r * uk.W + l] = 0.5f + 0.25f * r;
      uk.fn(p.data(), jb, je, v.data(), Dp, o.data(), rescale ? alpha.data() : nullptr);
      double worst = 0;
      for (int r = 0; r < uk.R; ++r)
        for (int c = 0; c < Dp; ++c) {
          const double a = rescale ? 0.5 + 0.25 * r : 1.0;
          if (c >= uk.C * uk.W) {  // outside the kernel's columns: untouched
            CHECK(o[r * Dp + c] == o0[r * Dp + c]);
            continue;
          }
          double ref = a * o0[r * Dp + c], mag = std::abs(ref);
          for (int j = jb; j < je; ++j) {
            ref += static_cast<double>(p[r * kTileK + j]) * v[static_cast<std::size_t>(j) * Dp + c];
            mag += std::abs(static_cast<double>(p[r * kTileK + j]) * v[static_cast<std::size_t>(j) * Dp + c]);
          }
          worst = std::max(worst, std::abs(o[r * Dp + c] - ref) / ((je - jb + 2) * 0x1p-24 * mag + 1e-30));
        }
      CHECK(worst <= 1.0);
    }
}

TEST_CASE("exp2 micro-kernels: relative error of a few ulp, exact zeros at -125 and -inf, never subnormal") {
  for (const Exp2Ukernel& uk : ukernels().exp2) {
    CAPTURE(uk.name);
    std::vector<float> x;
    for (float t = -149.0f; t <= 20.0f; t += 0.37f) x.push_back(t);
    for (float t : {-125.0f, std::nextafter(-125.0f, 0.0f), -126.0f, -150.0f, -200.0f, -1e30f, -INFINITY}) x.push_back(t);
    while (x.size() % uk.W) x.push_back(0.0f);
    std::vector<float> y(x.size());
    uk.fn(x.data(), y.data(), static_cast<int>(x.size()));
    double worst = 0;
    int subnormal = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      subnormal += y[i] != 0.0f && std::abs(y[i]) < FLT_MIN;
      if (x[i] <= -125.0f) {
        CHECK(y[i] == 0.0f);
        continue;
      }
      worst = std::max(worst, std::abs(y[i] / std::exp2(static_cast<double>(x[i])) - 1.0));
    }
    CHECK(worst < 4e-7);
    CHECK(subnormal == 0);  // a subnormal result costs a microcode assist (simd::vexp2_softmax)
  }
}

namespace {
// simd::vtanh's relative error bound, from its arithmetic (u = 2^-24, float32's unit roundoff):
// the fit itself (5.9e-7 with float32 coefficients, scripts/fit_tanh.py) plus, past the clamp at
// 9, 1 - tanh(9) = 3.1e-8; t = x^2 rounds once (u, and the relative sensitivity of P/Q to t is
// below 1); each Horner FMA rounds once: Q's 3 carry at most 3u (positive coefficients), P's 4
// at most 5u (its negative leading coefficient cancels 1.14x at t = 81); x P and the final
// product round once each; 1/Q is a reciprocal estimate with one Newton step, <= 2^-21 relative
// with AVX's 12-bit estimate (less with AVX-512's 14 bits, u with the scalar path's division).
// 6.3e-7 + 11u + 2^-21 = 1.8e-6. A vector whose lanes all lie in [-1, 1] takes vsoftcap's
// polynomial x S(x^2) instead: fit 6.8e-7, t u, S's 5 FMAs at most 6u (its alternating
// coefficients cancel 1.3x at t = 1), x S u: 6.8e-7 + 8u = 1.2e-6, inside the same bound. A
// wrong coefficient in its fourth digit (of either), a dropped Newton step (2^-12) or a missing
// clamp (NaN or 0 past 9) all fail it.
constexpr double kTanhRelBound = 6.3e-7 + 11 * 0x1p-24 + 0x1p-21;
}  // namespace

TEST_CASE("tanh approximation (the softcap micro-kernel at cap 1): relative error over every float exponent, odd, saturating, NaN kept") {
  // With cap = 1 the micro-kernel is simd::vtanh itself: x * (1 / 1) and 1 * tanh are exact.
  std::vector<float> x;
  for (uint32_t bits = 1; bits < 0x7F800000u; bits += 4093) {  // every positive finite exponent
    float v;
    std::memcpy(&v, &bits, 4);
    x.push_back(v);
  }
  for (float v : {0.0f, 1e-30f, 0.5f, 1.0f, 2.0f, 8.99f, 9.0f, 9.01f, 20.0f, FLT_MIN, FLT_MAX, INFINITY}) x.push_back(v);
  const std::size_t half = x.size();
  // Odd symmetry: -x in a second call with the same vectors negated (vsoftcap picks its formula
  // per vector, so x and -x must share their vector's other lanes to take the same one).
  for (std::size_t i = 0; i < half; ++i) x.push_back(-x[i]);
  x.push_back(NAN);
  x.push_back(-NAN);
  for (const SoftcapUkernel& uk : ukernels().softcap) {
    CAPTURE(uk.name);
    // y = the kernel on x[a, b), in a call of its own (zero-padded to whole vectors).
    std::vector<float> y(x.size());
    const auto apply = [&](std::size_t a, std::size_t b) {
      std::vector<float> in(x.begin() + a, x.begin() + b), out;
      while (in.size() % uk.W) in.push_back(0.0f);
      out.resize(in.size());
      uk.fn(in.data(), out.data(), static_cast<int>(in.size()), 1.0f);
      std::copy(out.begin(), out.begin() + (b - a), y.begin() + a);
    };
    apply(0, half), apply(half, 2 * half), apply(2 * half, x.size());
    double worst = 0;
    int not_odd = 0, subnormal_wrong = 0;
    for (std::size_t i = 0; i < half; ++i) {
      const double ref = std::tanh(static_cast<double>(x[i]));
      not_odd += !(y[half + i] == -y[i]);
      if (x[i] < FLT_MIN) {
        // tanh(x) = x in float32 for subnormal x; the product rounds to the subnormal grid.
        subnormal_wrong += !(std::abs(y[i] - ref) <= 0x1p-149);
        continue;
      }
      worst = std::max(worst, std::abs(y[i] - ref) / ref);
    }
    CHECK(worst < kTanhRelBound);
    CHECK(not_odd == 0);
    CHECK(subnormal_wrong == 0);
    // Saturation: +-inf and everything past the clamp give +-1 within the bound; NaN stays NaN.
    int unsaturated = 0;
    for (std::size_t i = 0; i < half; ++i) unsaturated += x[i] >= 9.0f && !(std::abs(y[i] - 1.0) <= kTanhRelBound);
    CHECK(unsaturated == 0);
    MESSAGE(uk.name, ": max relative error of tanh ", worst, " (bound ", kTanhRelBound, ")");
    CHECK(std::isnan(y[2 * half]));
    CHECK(std::isnan(y[2 * half + 1]));
  }
}

TEST_CASE("softcap micro-kernels: cap tanh(x / cap) within 2e-6 cap, +-cap far out") {
  // x clamped to +-9 cap, then x P(t) / Q(t) with t = (x (1 / cap))^2: 1 / cap, x / cap and the
  // clamp bound round once each (relative 2u in t, at most u in tanh with P/Q's sensitivity below
  // 1/2), the final products as vtanh's: |err| <= cap (kTanhRelBound + 3u) < 2e-6 cap. Without
  // the reciprocal's Newton step (2^-12) it fails.
  for (const SoftcapUkernel& uk : ukernels().softcap)
    for (float cap : {0.5f, 30.0f * 1.4426950408889634f, 1000.0f}) {
      CAPTURE(uk.name);
      CAPTURE(cap);
      std::vector<float> x;
      for (float t = -60.0f; t <= 60.0f; t += 0.013f) x.push_back(t * cap / 8);  // tanh's whole range
      for (float t : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e30f, -1e30f, 3.4e38f, -3.4e38f}) x.push_back(t);
      while (x.size() % uk.W) x.push_back(0.0f);
      std::vector<float> y(x.size());
      uk.fn(x.data(), y.data(), static_cast<int>(x.size()), cap);
      double worst = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double ref = cap * std::tanh(static_cast<double>(x[i]) / cap);
        worst = std::max(worst, std::abs(y[i] - ref) / cap);
        if (std::abs(x[i]) >= 1e30f) CHECK(y[i] == doctest::Approx(std::copysign(cap, x[i])).epsilon(1e-6));
      }
      CHECK(worst < 2e-6);
    }
}

TEST_CASE("transpose micro-kernels: W x W blocks with strides") {
  for (const TransposeUkernel& uk : ukernels().transpose) {
    CAPTURE(uk.name);
    const long ld_src = uk.W + 3, ld_dst = kTileK;
    const auto src = gaussian(static_cast<std::size_t>(uk.W) * ld_src, 6);
    AlignedBuffer dst(static_cast<std::size_t>(uk.W) * ld_dst);
    uk.fn(src.data(), ld_src, dst.data(), ld_dst);
    int wrong = 0;
    for (int i = 0; i < uk.W; ++i)
      for (int j = 0; j < uk.W; ++j) wrong += dst[j * ld_dst + i] != src[i * ld_src + j];
    CHECK(wrong == 0);
  }
}

TEST_CASE("tn micro-kernels (the backward's P^T dO, dS^T Q): R columns of A x C vectors, any row count") {
  for (const TnUkernel& uk : ukernels().tn)
    for (int n : {1, 37, 64}) {
      CAPTURE(uk.name);
      CAPTURE(n);
      const int ld = uk.C * uk.W + uk.W;  // one vector more than the kernel writes
      const auto a = gaussian(static_cast<std::size_t>(kTileQ) * kTileK, 6);
      const auto b = gaussian(static_cast<std::size_t>(n) * ld, 7);
      const auto c0 = gaussian(static_cast<std::size_t>(uk.R) * ld, 8);
      AlignedBuffer c(c0.size());
      for (std::size_t i = 0; i < c0.size(); ++i) c[i] = c0[i];
      uk.fn(a.data(), n, b.data(), ld, c.data());
      double worst = 0;
      for (int r = 0; r < uk.R; ++r)
        for (int col = 0; col < ld; ++col) {
          const float got = c[static_cast<std::size_t>(r) * ld + col];
          if (col >= uk.C * uk.W) {  // outside the kernel's columns: untouched
            worst = std::max(worst, got == c0[static_cast<std::size_t>(r) * ld + col] ? 0.0 : 2.0);
            continue;
          }
          double ref = c0[static_cast<std::size_t>(r) * ld + col], mag = std::abs(ref);
          for (int i = 0; i < n; ++i) {
            const double t = static_cast<double>(a[static_cast<std::size_t>(i) * kTileK + r]) * b[static_cast<std::size_t>(i) * ld + col];
            ref += t;
            mag += std::abs(t);
          }
          // n + 1 float32 additions: |error| <= (n + 1) u sum|terms|.
          worst = std::max(worst, std::abs(got - ref) / ((n + 1) * 0x1p-24 * mag + 1e-30));
        }
      CHECK(worst <= 1.0);
    }
}
