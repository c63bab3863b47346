// The decode path's narrow KV caches (kernels/kv_cache.hpp): bf16, f16 and int8 K and V read as
// 2 or 1 bytes per element and widened in the kernel, on every ISA this CPU runs.
//  - The cache holds exactly the values the emulated path computes with, so the
//    accuracy a record reports is the precision's, whichever path ran.
//  - Every narrow decode implementation (the widening ones on every ISA, int8's VNNI Q.K^T where
//    the CPU has it, bf16's AMX products where it has AMX) against float64, output and log-sum-exp, on odd shapes (Nk = 1, Nk not a multiple
//    of the 64-key tile, D = 1/24/40/80/128/256, Nq > Nk, GQA, MQA, causal, splits; tasks of 1 to 8
//    rows take the few-rows tile, 9 and more the widened tile), with the float32
//    K and V it is handed filled with NaN: a path that read them instead of the cache fails.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "errors.hpp"
#include "impl_list.hpp"
#include "kv_cache_store.hpp"
#include "masked_softmax_variant.hpp"
#include "precision.hpp"
#include "reference.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
constexpr double kUbf16 = 0x1p-9;  // unit roundoff of bfloat16
constexpr double kUf16 = 0x1p-11;  // unit roundoff of IEEE half

// The cache's elements decoded here, independently of the kernels' widening loads.
float from_bf16(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float from_f16(uint16_t b) {
  _Float16 h;
  std::memcpy(&h, &b, 2);
  return static_cast<float>(h);
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// The float64 reference of `variant` on float32 inputs q, k, v (e.g. the stored values).
std::vector<double> reference_on(const Variant& variant, const Problem& p, const float* q, const float* k,
                                 const float* v) {
  std::vector<long> rows(p.Nq);  // every query row of every (b, h)
  for (int r = 0; r < p.Nq; ++r) rows[r] = r;
  std::vector<double> out(p.q_elems());
  Problem f32 = p;
  f32.dtype = DType::f32;
  variant.reference(f32, {q, k, v}, rows, out.data());
  return out;
}
}  // namespace

TEST_CASE("decode KV cache: the cache holds the emulated path's values exactly, only for decode problems") {
  for (DType dtype : {DType::bf16, DType::f16, DType::int8}) {
    CAPTURE(std::string(dtype_name(dtype)));
    auto in = test::make_inputs(2, 4, 2, 3, 130, 40, true, 7);
    for (float& x : in.k) x = 3.0f * x + 0.5f;  // an offset for int8's smoothing to remove
    in.p.dtype = dtype;
    const StoredInputs stored = store_inputs(in.p, in.tensors());
    const Tensors t = stored.tensors();
    REQUIRE(t.cache);
    REQUIRE(t.cache->dtype == dtype);
    const std::size_t n = in.p.kv_elems();
    int differ = 0;
    const long D = in.p.D, tiles = (in.p.Nk + kTileK - 1) / kTileK;
    // Element i = (head, key j, dim d) of K in the cache's tile-transposed layout.
    auto k_at = [&](std::size_t i) {
      const long head = static_cast<long>(i) / (in.p.Nk * D), j = static_cast<long>(i) / D % in.p.Nk;
      return head * tiles * kv_cache_k_tile_elems(dtype, static_cast<int>(D)) +
             KvCacheStore::k_offset(dtype, j, static_cast<int>(i % D), static_cast<int>(D));
    };
    if (dtype != DType::int8) {
      const auto decode = dtype == DType::bf16 ? from_bf16 : from_f16;
      const auto* k = static_cast<const uint16_t*>(t.cache->k);
      const auto* v = static_cast<const uint16_t*>(t.cache->v);
      for (std::size_t i = 0; i < n; ++i)
        differ += !same_bits(decode(k[k_at(i)]), t.k[i]) + !same_bits(decode(v[i]), t.v[i]);
      // Keys past Nk in the last tile are zeros.
      for (long d = 0; d < D; ++d) differ += k[(tiles - 1) * kTileK * D + d * kTileK + kTileK - 1] != 0;
    } else {
      // K: the per-call quantisation of the emulated path; V: store_inputs' per-channel values.
      std::vector<float> q8(in.p.q_elems()), k8(n);
      quantize_qk_int8(in.p, in.tensors(), q8.data(), k8.data());
      const auto* k = static_cast<const int8_t*>(t.cache->k);
      const auto* v = static_cast<const int8_t*>(t.cache->v);
      int codes_used = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const long head = static_cast<long>(i) / (in.p.Nk * D), j = static_cast<long>(i) / D % in.p.Nk;
        // Equal values (an int8 code of 0 is +0 where the emulated value may be -0: same products).
        differ += k[k_at(i)] * t.cache->k_scale[head * tiles + j / kTileK] != k8[i];
        differ += v[i] * t.cache->v_scale[head * D + static_cast<long>(i) % D] != t.v[i];
        codes_used += k[k_at(i)] == 127 || k[k_at(i)] == -127;
      }
      CHECK(codes_used > 0);  // every block's largest value maps to +-127
    }
    CHECK(differ == 0);
    CHECK(stored_bytes(in.p) >= KvCacheStore::bytes(in.p));

    // Prefill problems and float32 keep no cache.
    auto prefill = test::make_inputs(1, 2, 2, kDecodeMaxQ + 1, 40, 8, false, 1);
    prefill.p.dtype = dtype;
    CHECK(store_inputs(prefill.p, prefill.tensors()).tensors().cache == nullptr);
  }
  auto f32 = test::make_inputs(1, 2, 2, 1, 40, 8, false, 1);
  CHECK(store_inputs(f32.p, f32.tensors()).tensors().cache == nullptr);
}

TEST_CASE("decode KV cache: f16 bits round to nearest even, subnormals and overflow included") {
  for (float x : {1.0f, -1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65504.0f, 65519.0f, 65520.0f, -7e4f, 0x1p-14f,
                  0x1p-15f + 0x1p-25f, 3e-8f, 2.9802322e-08f, -1e-9f, 0.0f, 0.1f, 1234.5678f}) {
    CAPTURE(x);
    CHECK(same_bits(from_f16(f16_bits(x)), round_to_f16(x)));
    CHECK(same_bits(from_f16(f16_bits(x)), static_cast<float>(static_cast<_Float16>(x))));
  }
  CHECK(same_bits(from_bf16(bf16_bits(1.0f + 0x1p-8f)), 1.0f));  // tie: to even
}

TEST_CASE("decode KV cache: every narrow decode implementation on every ISA against float64, never reading float32 K, V") {
  struct Shape {
    int B, H, Hkv, Nq, Nk, D;
    bool causal;
  };
  const Shape shapes[] = {{1, 8, 2, 1, 1, 40, true},     {1, 8, 1, 1, 777, 128, true}, {2, 4, 1, 16, 5, 1, true},
                          {1, 4, 4, 3, 130, 80, false},  {1, 4, 2, 2, 200, 256, true}, {1, 32, 8, 1, 300, 128, true},
                          {2, 2, 1, 4, 64, 40, false},   {1, 3, 1, 3, 100, 24, true},  {1, 8, 1, 2, 70, 40, true}};
  const int saved = omp_get_max_threads();
  for (const char* spec : {"dense", "window:left=100,right=0"}) {
    const auto variant = make_variant(spec);
    const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(variant.get());
    REQUIRE(masked);
    for (const Shape& s : shapes)
      for (DType dtype : {DType::bf16, DType::f16, DType::int8}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, s.causal, 53);
        in.p.dtype = dtype;
        const StoredInputs stored = store_inputs(in.p, in.tensors());
        // The values the precision computes with, as float32: the emulated path's inputs.
        std::vector<float> q(stored.tensors().q, stored.tensors().q + in.p.q_elems()), k(in.p.kv_elems());
        const float* v = stored.tensors().v;
        if (dtype == DType::int8)
          quantize_qk_int8(in.p, in.tensors(), q.data(), k.data());
        else
          k.assign(stored.tensors().k, stored.tensors().k + in.p.kv_elems());
        const auto semantic_ref = reference_on(*variant, in.p, q.data(), k.data(), v);
        const auto exact_ref = reference_on(*variant, in.p, in.q.data(), in.k.data(), in.v.data());
        double vmax = 0, ref_max = 0;
        for (std::size_t i = 0; i < in.p.kv_elems(); ++i) vmax = std::max(vmax, static_cast<double>(std::abs(v[i])));
        for (double x : semantic_ref) ref_max = std::max(ref_max, std::abs(x));
        // The float32 K and V the plan is handed are NaN: only the cache holds the inputs.
        const std::vector<float> nan_kv(in.p.kv_elems(), NAN);
        Tensors t = stored.tensors();
        t.k = t.v = nan_kv.data();
        // The log-sum-exp of the scores on the stored values, and what float32 may lose on it:
        // a score is a D-term dot product (<= (D + 4) u |q| |k_j| off; the VNNI path's integers
        // are exact), the sum over the keys adds ~(Nk / 16 + 32) u, the polynomial exp2 ~1e-6.
        // A score offset (e.g. int8's 128 sum q correction) moves it by O(1): it fails here even
        // where the softmax (the output) cannot see it.
        std::vector<double> ref_lse(static_cast<std::size_t>(s.B) * s.H * s.Nq), lse_bound(ref_lse.size());
        {
          Problem f32 = in.p;
          f32.dtype = DType::f32;
          const auto mask = masked->make_mask(f32);
          const VisibleKeys keys(f32, *mask);
          std::vector<double> w(s.Nk);
          double kmax = 0;
          for (long j = 0; j < static_cast<long>(s.B) * s.Hkv * s.Nk; ++j) {
            double k2 = 0;
            for (int d = 0; d < s.D; ++d) k2 += static_cast<double>(k[j * s.D + d]) * k[j * s.D + d];
            kmax = std::max(kmax, std::sqrt(k2));
          }
          for (std::size_t r = 0; r < ref_lse.size(); ++r) {
            const int b = static_cast<int>(r / (s.H * s.Nq)), h = static_cast<int>(r / s.Nq % s.H);
            ref_lse[r] = reference_softmax_weights(f32, {q.data(), k.data(), v}, keys, b, h, static_cast<long>(r % s.Nq), w.data());
            double q2 = 0;
            for (int d = 0; d < s.D; ++d) q2 += static_cast<double>(q[r * s.D + d]) * q[r * s.D + d];
            lse_bound[r] = (s.D + 4) * 0x1p-24 * f32.effective_scale() * std::sqrt(q2) * kmax + (s.Nk / 16.0 + 32) * 0x1p-24 + 1e-6;
          }
        }
        int paths = 0;
        for (const FlashForwardImpl& impl : flash_forward_impls()) {
          if (!impl.kv_cache || !impl.supports(in.p)) continue;
          ++paths;
          CHECK(impl.name.find(std::string(dtype_name(dtype)) + "-decode-splitkv-") == 0);
          CHECK(impl.name.find("emulated") == std::string::npos);
          for (int threads : {1, 3}) {
            omp_set_num_threads(threads);
            CAPTURE(std::string(spec));
            CAPTURE(impl.name);
            INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " causal=", s.causal,
                 " threads=", threads);
            std::vector<float> out(in.p.q_elems(), NAN), lse(ref_lse.size(), NAN);
            masked->plan_with(in.p, impl)->run(t, {out.data(), lse.data()});
            int lse_wrong = 0;
            for (std::size_t r = 0; r < lse.size(); ++r)
              lse_wrong += std::isinf(ref_lse[r]) ? !(std::isinf(lse[r]) && lse[r] < 0)
                                                  : !(std::abs(lse[r] - ref_lse[r]) <= lse_bound[r]);
            CHECK(lse_wrong == 0);
            double semantic = 0, d2 = 0, r2 = 0;
            for (std::size_t i = 0; i < out.size(); ++i) {
              semantic = std::max(semantic, std::abs(out[i] - semantic_ref[i]));
              d2 += (out[i] - exact_ref[i]) * (out[i] - exact_ref[i]), r2 += exact_ref[i] * exact_ref[i];
            }
            const double exact = r2 > 0 ? std::sqrt(d2 / r2) : 0;
            // Against the stored values: float32 roundoff for f16 (~D u_f32 per score, times
            // the softmax's sensitivity), bf16 and int8 add P rounded to bf16 before P.V:
            // |sum_j (p~_j - p_j) v_j| / l <= u_bf16 max|v|.
            if (dtype == DType::f16) {
              CHECK(semantic <= 1e-5 * std::max(1.0, ref_max));
            } else {
              CHECK(semantic <= 1.5 * kUbf16 * vmax + 1e-5);
            }
            // Against the original inputs: what the precision costs, and not less (it rounded).
            if (s.Nk > 1 && r2 > 0) {
              const double u = dtype == DType::f16 ? kUf16 : kUbf16;
              CHECK(exact <= (dtype == DType::int8 ? 0.045 : 8 * u));
              CHECK(exact >= u / 64);
            }
          }
        }
        // One decode entry per float32 ISA table, and where the tasks all have few rows: for int8
        // the VNNI one where the CPU has AVX512-VNNI, for bf16 the AMX one where it has AMX.
        const bool few = s.H / s.Hkv * s.Nq <= kDecodeFewRows;
        const bool vnni = dtype == DType::int8 && cpu_supports(Isa::avx512bf16) && few;
        const bool amx = dtype == DType::bf16 && cpu_supports(Isa::amx) && few;
        CHECK(paths == test::float32_isa_tables() + vnni + amx);
      }
  }
  omp_set_num_threads(saved);
}

TEST_CASE("decode KV cache: the implementation list picks it for narrow decode problems, and it refuses inputs without a cache") {
  const auto variant = make_variant("dense");
  for (DType dtype : {DType::bf16, DType::f16, DType::int8}) {
    auto in = test::make_inputs(1, 4, 1, 2, 100, 16, true, 1);
    in.p.dtype = dtype;
    const auto plan = variant->plan(in.p, best_isa());
    CHECK(plan->impl().find(std::string(dtype_name(dtype)) + "-decode-splitkv-") == 0);
    std::vector<float> out(in.p.q_elems());
    CHECK_THROWS_AS(plan->run(in.tensors(), {out.data(), nullptr}), UserError);  // float32 tensors only
    in = test::make_inputs(1, 4, 1, kDecodeMaxQ + 1, 100, 16, true, 1);
    in.p.dtype = dtype;
    // Prefill: the native path where this CPU has one (bf16, int8 at avx512bf16 or amx), else emulated.
    const std::string prefill = variant->plan(in.p, best_isa())->impl();
    const bool native = cpu_supports(Isa::avx512bf16) && dtype != DType::f16;
    CHECK(prefill.find(std::string(dtype_name(dtype)) + (native ? "-flash-" : "-flash-emulated-")) == 0);
    CHECK((prefill.find("emulated") == std::string::npos) == native);
  }
}
