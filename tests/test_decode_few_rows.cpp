// The decode path's few-rows tile (kernels/decode_rows.hpp): a task whose rows (query rows x
// heads of one GQA group, or one head's rows under per-head layouts) number at most
// kDecodeFewRows reads K and V in place, finishing the dot products along D with a transposing
// reduction; more rows take the transposed key tile. The row count alone picks the path, so
// the shapes below sit on both sides of the threshold (rows = 1, 7, 8 and 9, 16), with D not a
// whole number of vectors on any ISA (D = 1, 24, 40) and Nk not a whole number of vectors
// (the last vector of keys lies past the tensor's end), on every ISA this CPU runs, split and
// not split, against float64 (output and, through the split merge, the log-sum-exp's use).
#include <doctest/doctest.h>
#include <omp.h>

#include <cstdio>

#include "cli_util.hpp"
#include "impl_list.hpp"
#include "masked_softmax_variant.hpp"
#include "npy.hpp"
#include "test_util.hpp"

using namespace attn;

TEST_CASE("decode few-rows tile: both sides of kDecodeFewRows, odd D and Nk, modifiers, every ISA, against float64") {
  struct Shape {
    int B, H, Hkv, Nq, Nk, D;
  };
  // rows of a shared task = (H / Hkv) x Nq; per-head layouts (bigbird) give Nq rows per task.
  const Shape shapes[] = {
      {1, 1, 1, 1, 1, 1},      // 1 row, one key, D = 1
      {1, 8, 1, 1, 1000, 128}, // MQA, 8 rows: the last few-rows count
      {1, 3, 1, 3, 300, 80},   // 9 rows: the first tile count
      {2, 8, 2, 2, 70, 40},    // 8 rows, Nk = 70: a partial last vector of keys; D = 40
      {1, 7, 1, 1, 203, 24},   // 7 rows, D = 24
      {1, 2, 1, 4, 3, 16},     // Nq > Nk: causal rows that see no key
      {1, 4, 1, 4, 500, 64},   // 16 rows: the tile
      {1, 4, 2, 2, 129, 256},  // 4 rows, D = 256
  };
  const std::string sinks_path = test::temp_path("few_rows_sinks.npy");
  const std::vector<float> sinks = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -0.5f, 0.25f, 3.0f};
  const int saved = omp_get_max_threads();
  int few = 0, tiled = 0;
  for (const Shape& s : shapes)
    for (const std::string& spec : {std::string("dense"), std::string("window:left=50,right=0"),
                                   std::string("block_sparse:pattern=bigbird,block=16,random=1"),
                                   "dense:softcap=4,alibi=1,sinks=" + sinks_path}) {
      if (spec.find("sinks") != std::string::npos) write_npy(sinks_path, {s.H}, sinks.data());
      const auto variant = make_variant(spec);
      const auto& masked = dynamic_cast<const MaskedSoftmaxVariant&>(*variant);
      const bool per_head = spec.find("bigbird") != std::string::npos;
      const int rows = per_head ? s.Nq : s.H / s.Hkv * s.Nq;
      (rows <= kDecodeFewRows ? few : tiled) += 1;
      for (bool causal : {false, true}) {
        auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 71);
        const auto ref = test::reference(*variant, in);
        int paths = 0;
        for (int threads : {1, 3}) {  // B x Hkv < 3: the keys split across threads
          omp_set_num_threads(threads);
          for (const FlashForwardImpl& impl : flash_forward_impls()) {
            if (impl.name.find("f32-decode") != 0 || !impl.supports(in.p)) continue;
            ++paths;
            CAPTURE(spec);
            CAPTURE(impl.name);
            INFO("B=", s.B, " H=", s.H, " Hkv=", s.Hkv, " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " rows=", rows,
                 " causal=", causal, " threads=", threads);
            std::vector<float> out(in.p.q_elems(), NAN);
            masked.plan_with(in.p, impl)->run(in.tensors(), {out.data(), nullptr});
            // float32 dot products of D terms and sums over the keys: a few hundred units of
            // roundoff (u = 6e-8) relative to the largest output; a wrong key or lane is O(1).
            CHECK(test::rel_err(out, ref) < 1e-5);
          }
        }
        CHECK(paths == 2 * test::float32_isa_tables());  // one decode entry per float32 ISA table, twice
      }
    }
  CHECK(few > 0);
  CHECK(tiled > 0);
  omp_set_num_threads(saved);
  std::remove(sinks_path.c_str());
}

TEST_CASE("decode impl names say the tile the tasks ran: fewrows8, the transposed 6x4v, or both") {
  struct Case {
    const char* spec;
    int H, Hkv, Nq;
    const char* tiles;  // expected, worked out by hand from the task rule
  };
  const Case cases[] = {
      {"dense", 32, 8, 1, "few"},    // 4 rows per task
      {"dense", 8, 1, 1, "few"},     // 8 rows: the last few-rows count
      {"dense", 3, 1, 3, "tile"},    // 9 rows
      {"dense", 4, 1, 16, "tile"},   // 64 rows: one whole chunk
      {"dense", 5, 1, 13, "both"},   // 65 rows: a chunk of 64 and one of 1
      {"dense", 9, 1, 8, "both"},    // 72 rows: 64 and 8
      {"dense", 9, 1, 9, "tile"},    // 81 rows: 64 and 17
      {"block_sparse:pattern=bigbird,block=16,random=1", 8, 1, 2, "few"},   // per-head tasks of 2 rows
      {"block_sparse:pattern=bigbird,block=16,random=1", 2, 1, 16, "tile"}, // per-head tasks of 16 rows
  };
  for (const Case& c : cases) {
    CAPTURE(c.spec);
    INFO("H=", c.H, " Hkv=", c.Hkv, " Nq=", c.Nq);
    auto in = test::make_inputs(1, c.H, c.Hkv, c.Nq, 300, 40, true, 3);
    const auto variant = make_variant(c.spec);
    const auto& masked = dynamic_cast<const MaskedSoftmaxVariant&>(*variant);
    int decode_entries = 0;
    for (const FlashForwardImpl& impl : flash_forward_impls()) {
      if (impl.name.find("f32-decode") != 0 || !impl.supports(in.p)) continue;
      ++decode_entries;
      const std::string isa = impl.name.substr(impl.name.rfind('-'));
      const std::string few = "f32-decode-splitkv-fewrows8" + isa;
      const std::string tile = impl.name;
      CHECK(impl.few_rows_name == few);
      CHECK(tile.find("fewrows") == std::string::npos);
      const std::string expect = std::string(c.tiles) == "few" ? few : std::string(c.tiles) == "tile" ? tile : tile + "+" + few;
      CHECK(masked.plan_with(in.p, impl)->impl() == expect);
    }
    CHECK(decode_entries == test::float32_isa_tables());
  }
  // Prefill entries keep their names.
  auto prefill = test::make_inputs(1, 2, 2, kDecodeMaxQ + 1, 40, 8, false, 1);
  const auto dense = make_variant("dense");
  for (const FlashForwardImpl& impl : flash_forward_impls())
    if (impl.supports(prefill.p)) CHECK(dynamic_cast<const MaskedSoftmaxVariant&>(*dense).plan_with(prefill.p, impl)->impl() == impl.name);
}
