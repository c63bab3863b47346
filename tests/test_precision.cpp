// bf16, f16 and int8 (SPEC "Cases: shapes, precision, direction") through the one engine, for
// every mask variant and every implementation that takes the precision, checked two ways:
//  - against a float64 reference of the precision's own semantics, written here again (inputs
//    rounded or quantised as SPEC says, then exact attention): f16 must agree to float32
//    roundoff, bf16 and int8 to the bf16 rounding of P (at most u_bf16 max|v| per element);
//  - against exact attention on the original inputs, within what the precision costs (and not
//    suspiciously better: a path that skipped the rounding would fail).
#include <doctest/doctest.h>

#include <cmath>

#include "impl_list.hpp"
#include "independent_reference.hpp"
#include "masked_softmax_variant.hpp"
#include "precision.hpp"

using namespace attn;

namespace {
constexpr double kUbf16 = 0x1p-9;  // unit roundoff of bfloat16 (8 significant bits)

// SPEC's int8 recipe, written again: K smoothed by its per-channel mean over the keys, Q and K
// quantised per block of 64 rows with s = max|x| / 127, V per channel; round to nearest even.
void quantize(std::vector<float>& x, long rows, long D, long block) {
  for (long r0 = 0; r0 < rows; r0 += block) {
    const long n = std::min(block, rows - r0) * D;
    float amax = 0;
    for (long i = 0; i < n; ++i) amax = std::max(amax, std::abs(x[r0 * D + i]));
    if (amax > 0)
      for (long i = 0; i < n; ++i) x[r0 * D + i] = std::nearbyint(x[r0 * D + i] * (127.0f / amax)) * (amax / 127.0f);
  }
}

test::Inputs spec_stored(const test::Inputs& in) {
  test::Inputs s = in;
  const Problem& p = in.p;
  if (p.dtype == DType::bf16 || p.dtype == DType::f16)
    for (auto* t : {&s.q, &s.k, &s.v})
      for (float& x : *t) x = p.dtype == DType::bf16 ? round_to_bf16(x) : static_cast<float>(static_cast<_Float16>(x));
  if (p.dtype != DType::int8) return s;
  for (long h = 0; h < static_cast<long>(p.B) * p.H; ++h) {
    std::vector<float> q(s.q.begin() + h * p.Nq * p.D, s.q.begin() + (h + 1) * p.Nq * p.D);
    quantize(q, p.Nq, p.D, 64);
    std::copy(q.begin(), q.end(), s.q.begin() + h * p.Nq * p.D);
  }
  for (long h = 0; h < static_cast<long>(p.B) * p.Hkv; ++h) {
    std::vector<float> k(s.k.begin() + h * p.Nk * p.D, s.k.begin() + (h + 1) * p.Nk * p.D);
    for (long d = 0; d < p.D; ++d) {
      float mean = 0;
      for (long j = 0; j < p.Nk; ++j) mean += k[j * p.D + d];
      mean /= static_cast<float>(p.Nk);
      for (long j = 0; j < p.Nk; ++j) k[j * p.D + d] -= mean;
    }
    quantize(k, p.Nk, p.D, 64);
    std::copy(k.begin(), k.end(), s.k.begin() + h * p.Nk * p.D);
    for (long d = 0; d < p.D; ++d) {  // V per channel: a "block" of one column
      std::vector<float> col(p.Nk);
      for (long j = 0; j < p.Nk; ++j) col[j] = s.v[(h * p.Nk + j) * p.D + d];
      quantize(col, 1, p.Nk, 1);
      for (long j = 0; j < p.Nk; ++j) s.v[(h * p.Nk + j) * p.D + d] = col[j];
    }
  }
  return s;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}
double rel_frobenius(const std::vector<float>& a, const std::vector<double>& b) {
  double d2 = 0, b2 = 0;
  for (std::size_t i = 0; i < b.size(); ++i) d2 += (a[i] - b[i]) * (a[i] - b[i]), b2 += b[i] * b[i];
  return std::sqrt(d2 / b2);
}
}  // namespace

TEST_CASE("bf16, f16 and int8 on every mask variant and implementation: the precision's semantics, and its cost") {
  struct Shape {
    int B, H, Hkv, Nq, Nk, D;
  };
  const Shape shapes[] = {{1, 2, 1, 100, 100, 64}, {1, 4, 2, 8, 300, 40}, {2, 2, 2, 65, 130, 80}};
  for (const char* spec : {"dense", "window:left=50,right=0", "sink:sink=4,window=30", "dilated:left=80,dilation=2",
                           "block_sparse:pattern=bigbird,block=16,random=1"}) {
    const auto variant = make_variant(spec);
    const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
    REQUIRE(masked);
    for (const Shape& s : shapes)
      for (bool causal : {false, true})
        for (DType dtype : {DType::bf16, DType::f16, DType::int8}) {
          auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 41);
          in.p.dtype = dtype;
          REQUIRE(variant->unsupported_reason(in.p).empty());
          const auto rule = masked->rule(in.p);
          const auto visible = [&](int h, long i, long j) { return rule(h, i, j); };
          const test::Inputs stored_spec = spec_stored(in);
          const auto semantic_ref = test::spec_attention(stored_spec, visible);
          const auto exact_ref = test::spec_attention(in, visible);
          double vmax = 0;
          for (float x : stored_spec.v) vmax = std::max(vmax, static_cast<double>(std::abs(x)));
          const StoredInputs stored = store_inputs(in.p, in.tensors());
          int paths = 0;
          for (const FlashForwardImpl& impl : flash_forward_impls()) {
            if (!impl.supports(in.p)) continue;
            ++paths;
            CAPTURE(std::string(spec));
            CAPTURE(impl.name);
            INFO("Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", causal);
            std::vector<float> out(in.p.q_elems());
            masked->plan_with(in.p, impl)->run(stored.tensors(), {out.data(), nullptr});
            const double semantic = max_abs_diff(out, semantic_ref), exact = rel_frobenius(out, exact_ref);
            if (dtype == DType::f16) {
              CHECK(semantic <= 1e-5 * vmax);
              CHECK(exact <= 8 * 0x1p-11);      // inputs rounded to 11 bits
              CHECK(exact >= 0x1p-11 / 64);     // ... and really rounded
            } else {
              CHECK(semantic <= 1.5 * kUbf16 * vmax + 1e-5);  // P rounded to bf16
              CHECK(semantic >= 0.01 * kUbf16 * vmax);        // ... and really rounded
              // bf16 inputs cost ~u_bf16; SageAttention's int8 keeps cosine similarity > 0.999.
              CHECK(exact <= (dtype == DType::bf16 ? 8 * kUbf16 : 0.045));
            }
          }
          // One emulated path per ISA with its own float32 build (decode and flash for few rows),
          // and the native AVX512-BF16 / VNNI and AMX ones for bf16 and int8.
          const int natives = int(cpu_supports(Isa::avx512bf16)) + int(cpu_supports(Isa::amx));
          const int isas = test::float32_isa_tables();
          CHECK(paths == isas * (s.Nq <= kDecodeMaxQ ? 2 : 1) + (dtype != DType::f16 ? natives : 0));
        }
  }
}

TEST_CASE("store_inputs rounds to nearest even and keeps float32 tensors as they are") {
  CHECK(round_to_bf16(1.0f + 0x1p-8f) == 1.0f);                  // tie: to even
  CHECK(round_to_bf16(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);    // tie: to even (up)
  CHECK(round_to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);
  CHECK(round_to_f16(1.0f + 0x1p-11f) == 1.0f);
  auto in = test::make_inputs(1, 1, 1, 3, 3, 4, false, 1);
  const StoredInputs same = store_inputs(in.p, in.tensors());
  CHECK(same.tensors().q == in.q.data());
}
