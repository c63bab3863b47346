// The decode path's AMX products (kernels/native/amx_decode.hpp): a bf16 cache's Q.K^T and P.V
// on tdpbf16ps in the few-rows tile. Where the CPU has AMX:
//  - against float64 on the stored values (the precision's semantics), with the bound the
//    other narrow decode paths meet (P rounded to bf16: u_bf16 max|v|), on Nq 1 and 2, groups
//    1..8, D = 1, 40, 80, 128, 256, Nk = 1, 63, 65, 1000, causal or not, a window, bigbird's
//    per-head layouts, softcap + ALiBi + sinks, one thread and three (the keys split);
//  - against the widening AVX-512 entry, which computes the same products with FMAs in another
//    float32 order: scores summed in another order can round a probability to the other bf16
//    neighbour, so single elements may differ by up to u_bf16 max|v|, the mean far less;
//  - which entry runs: AMX for few rows, the next entry for a task of more rows, the widening
//    one at --isa avx512bf16; an int8 cache keeps its VNNI entry on AMX CPUs.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdio>

#include "cli_util.hpp"
#include "impl_list.hpp"
#include "kv_cache_store.hpp"
#include "masked_softmax_variant.hpp"
#include "npy.hpp"
#include "precision.hpp"
#include "test_util.hpp"

using namespace attn;

namespace {
constexpr double kUbf16 = 0x1p-9;  // unit roundoff of bfloat16

// The entry whose name, or few-rows tile's name (a widening decode entry's), is `name`.
const FlashForwardImpl* entry_named(const std::string& name) {
  for (const FlashForwardImpl& impl : flash_forward_impls())
    if (impl.name == name || impl.few_rows_name == name) return &impl;
  return nullptr;
}
}  // namespace

TEST_CASE("decode AMX products: a bf16 cache against float64 and the widening path, odd shapes, masks, modifiers") {
  if (!cpu_supports(Isa::amx)) return;  // nothing to run; test_decode_kv_cache covers the others
  const std::string sinks_path = test::temp_path("decode_amx_sinks.npy");
  // One logit per head for up to 16 heads (the groups below reach H = 10).
  const std::vector<float> sinks = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -0.5f, 0.25f, 3.0f,
                                    -2.0f, 1.5f, 0.75f, -0.25f, 2.5f, -1.5f, 0.1f, 1.25f};
  const int saved = omp_get_max_threads();
  struct Group {
    int Nq, g;
  };
  const Group groups[] = {{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 8}, {2, 1}, {2, 3}, {2, 4}};
  long runs = 0;
  {
    const DType dtype = DType::bf16;
    const std::string dt = dtype_name(dtype);
    const FlashForwardImpl* amx = entry_named("bf16-decode-splitkv-amx-fewrows8-amx");
    const FlashForwardImpl* widened = entry_named("bf16-decode-splitkv-fewrows8-avx512");
    REQUIRE(amx);
    REQUIRE(widened);
    for (const std::string& spec : {std::string("dense"), std::string("window:left=40,right=0"),
                                   std::string("block_sparse:pattern=bigbird,block=16,random=1"),
                                   "dense:softcap=4,alibi=1,sinks=" + sinks_path})
      for (const Group& gr : groups)
        for (int D : {1, 40, 80, 128, 256})
          for (int Nk : {1, 63, 65, 1000})
            for (bool causal : {false, true}) {
              const int Hkv = gr.g == 8 ? 1 : 2, H = gr.g * Hkv;  // MQA, and GQA with two kv heads
              REQUIRE(H <= static_cast<int>(sinks.size()));
              if (spec.find("sinks") != std::string::npos) write_npy(sinks_path, {H}, sinks.data());
              const auto variant = make_variant(spec);
              const auto& masked = dynamic_cast<const MaskedSoftmaxVariant&>(*variant);
              auto in = test::make_inputs(1, H, Hkv, gr.Nq, Nk, D, causal, 17 + D + Nk);
              in.p.dtype = dtype;
              const StoredInputs stored = store_inputs(in.p, in.tensors());
              std::vector<float> q(stored.tensors().q, stored.tensors().q + in.p.q_elems()), k(in.p.kv_elems());
              const float* v = stored.tensors().v;
              k.assign(stored.tensors().k, stored.tensors().k + in.p.kv_elems());
              Problem f32 = in.p;
              f32.dtype = DType::f32;
              std::vector<double> ref(in.p.q_elems());
              variant->reference(f32, {q.data(), k.data(), v}, test::all_rows(f32), ref.data());
              double vmax = 0;
              for (std::size_t i = 0; i < in.p.kv_elems(); ++i) vmax = std::max(vmax, static_cast<double>(std::abs(v[i])));
              REQUIRE(amx->supports(in.p));
              for (int threads : {1, 3}) {  // B x Hkv < 3: the keys split across threads
                omp_set_num_threads(threads);
                CAPTURE(spec);
                CAPTURE(dt);
                INFO("H=", H, " Hkv=", Hkv, " Nq=", gr.Nq, " Nk=", Nk, " D=", D, " causal=", causal, " threads=", threads);
                std::vector<float> out(in.p.q_elems(), NAN), base(in.p.q_elems(), NAN);
                masked.plan_with(in.p, *amx)->run(stored.tensors(), {out.data(), nullptr});
                masked.plan_with(in.p, *widened)->run(stored.tensors(), {base.data(), nullptr});
                double to_ref = 0, to_base = 0, sum_base = 0;
                for (std::size_t i = 0; i < out.size(); ++i) {
                  const double e = std::abs(out[i] - ref[i]), b = std::abs(out[i] - base[i]);
                  to_ref = std::isnan(e) ? INFINITY : std::max(to_ref, e);
                  to_base = std::isnan(b) ? INFINITY : std::max(to_base, b);
                  sum_base += b;
                }
                // P rounded to bf16 before P.V: |sum_j (p~_j - p_j) v_j| / l <= u_bf16 max|v|;
                // float32's own roundoff is far below it.
                CHECK(to_ref <= 1.5 * kUbf16 * vmax + 1e-5);
                CHECK(to_base <= 1.5 * kUbf16 * vmax + 1e-5);
                CHECK(sum_base / out.size() <= 0.25 * kUbf16 * vmax + 1e-6);
                ++runs;
              }
            }
  }
  CHECK(runs == 4 * 9 * 5 * 4 * 2 * 2);
  omp_set_num_threads(saved);
  std::remove(sinks_path.c_str());
}

TEST_CASE("decode AMX entry: bf16 few rows only, the next entry for more; int8 keeps VNNI") {
  if (!cpu_supports(Isa::amx)) return;
  const auto variant = make_variant("dense");
  for (DType dtype : {DType::bf16, DType::int8}) {
    const std::string dt = dtype_name(dtype);
    CAPTURE(dt);
    auto few = test::make_inputs(1, 32, 8, 1, 300, 128, true, 5);  // 4 rows per task
    few.p.dtype = dtype;
    CHECK(variant->plan(few.p, Isa::amx)->impl() ==
          (dtype == DType::bf16 ? "bf16-decode-splitkv-amx-fewrows8-amx" : "int8-decode-splitkv-vnni-fewrows8-avx512bf16"));
    // At avx512bf16 (a CPU with AVX512-VNNI and no AMX, e.g. Zen 5): VNNI for int8, widening for bf16.
    const std::string below = variant->plan(few.p, Isa::avx512bf16)->impl();
    CHECK(below == (dtype == DType::int8 ? "int8-decode-splitkv-vnni-fewrows8-avx512bf16" : "bf16-decode-splitkv-fewrows8-avx512"));
    auto many = test::make_inputs(1, 9, 1, 1, 300, 128, true, 5);  // 9 rows: the transposed tile
    many.p.dtype = dtype;
    const std::string next = variant->plan(many.p, Isa::amx)->impl();
    CHECK(next.find(dt + "-decode-splitkv-") == 0);
    CHECK(next.find("amx") == std::string::npos);
    CHECK(next.find("fewrows") == std::string::npos);
  }
}
