// Memory checks before planning: workspace bounds hold for every variant, the tile counts that
// replace building the plan agree with it, and a sweep turns down a case that cannot fit at
// once, before any tile plan, layout or row list grows with N.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "attention_mask.hpp"
#include "cli_util.hpp"
#include "masked_softmax_variant.hpp"
#include "sweep_records.hpp"
#include "variant.hpp"

using namespace attn;

namespace {
std::vector<Problem> problems() {
  std::vector<Problem> ps;
  for (bool causal : {false, true})
    for (auto [nq, nk] : {std::pair{300, 300}, {140, 330}, {330, 140}, {1, 200}, {64, 64}}) {
      Problem p;
      p.B = 2, p.H = 2, p.Hkv = 1, p.Nq = nq, p.Nk = nk, p.D = 8, p.causal = causal;
      ps.push_back(p);
    }
  return ps;
}

const char* const kSpecs[] = {"dense", "naive", "dense_blas", "linear", "linear:map=favor", "window:left=70,right=5",
                              "window:left=3,right=0", "window:left=0,right=-1", "block_sparse:pattern=bigbird,block=48",
                              "block_sparse:pattern=local,block=64", "block_sparse:pattern=random,block=20",
                              "sink:sink=4,window=50", "dilated:left=100,right=0,dilation=3"};
}  // namespace

TEST_CASE("workspace_range brackets workspace_bytes for every variant") {
  for (const char* spec : kSpecs) {
    const auto v = make_variant(spec);
    for (const Problem& p : problems()) {
      if (!v->unsupported_reason(p).empty()) continue;
      INFO(spec, " Nq=", p.Nq, " Nk=", p.Nk, " causal=", p.causal);
      const WorkspaceRange r = v->workspace_range(p, Isa::scalar);
      const double exact = static_cast<double>(v->workspace_bytes(p, Isa::scalar));
      CHECK(r.floor <= exact);
      CHECK(exact <= r.bound);
    }
  }
}

TEST_CASE("tile and pair counts without a stored plan match the plan and visible()") {
  for (const char* spec : kSpecs) {
    const auto v = make_variant(spec);
    const auto* masked = dynamic_cast<const MaskedSoftmaxVariant*>(v.get());
    if (!masked) continue;
    for (Problem p : problems()) {
      if (!v->unsupported_reason(p).empty()) continue;
      INFO(spec, " Nq=", p.Nq, " Nk=", p.Nk, " causal=", p.causal);
      const auto mask = masked->make_mask(p);
      const VisibleKeys keys(p, *mask);
      CHECK(count_plan_tiles(p, keys) == build_block_plan(p, keys).refs.size());
      CHECK(masked->layout_heads(p) == keys.layout_heads());
      // Pairs with lengths (self-attention only), brute force.
      if (p.Nq != p.Nk) continue;
      const std::vector<int> lens = {p.Nq / 3 + 1, p.Nq};
      p.lens = lens;
      double expected = 0;
      for (int b = 0; b < p.B; ++b)
        for (int h = 0; h < p.H; ++h)
          for (long i = 0; i < lens[b]; ++i)
            for (long j = 0; j < lens[b]; ++j) expected += keys.visible(h, i, j);
      CHECK(v->visible_pairs(p) == expected);
    }
  }
}

TEST_CASE("sweep turns down a 4M-token case over --max-memory at once, before planning it") {
  const std::string out = attn::test::temp_path("memory_skip.jsonl");
  for (const char* spec : {"window", "block_sparse", "block_sparse:block=4096", "dense", "naive", "dense_blas"}) {
    CAPTURE(spec);
    std::remove(out.c_str());
    const auto start = std::chrono::steady_clock::now();
    // timeout: a hang guard only (the skip takes milliseconds; building the plan took minutes).
    const auto r = attn::test::run_attnbench(std::string("sweep --variant ") + spec +
                                             " --seq 4M --head-dim 64 --max-memory 1 --repetitions 1 --out " + out);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto lines = attn::test::read_lines(out);
    REQUIRE(lines.size() == 1);
    CHECK(attn::test::raw_field(lines[0], "status") == "skipped");
    const std::string reason = attn::test::raw_field(lines[0], "reason");
    // block_sparse's default block makes a 4G-cell layout: refused by its size, also in O(1).
    CHECK((reason.find("needs at least 4.00 GiB, limit 1.00 GiB") != std::string::npos ||
           reason.find("makes a layout of") != std::string::npos));
  }
  std::remove(out.c_str());
}

TEST_CASE("a case whose exact tile plan is over the limit is turned down without building it") {
  // 1M tokens of D = 1: the tensors fit in 0.5 GiB, the dense plan (16384^2 tiles) does not.
  const std::string out = attn::test::temp_path("memory_skip_plan.jsonl");
  std::remove(out.c_str());
  const auto r = attn::test::run_attnbench("sweep --variant dense --seq 1M --head-dim 1 --max-memory 0.5 --out " + out);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto lines = attn::test::read_lines(out);
  REQUIRE(lines.size() == 1);
  CHECK(attn::test::raw_field(lines[0], "status") == "skipped");
  CHECK(attn::test::raw_field(lines[0], "reason").find("needs 2.") != std::string::npos);
  std::remove(out.c_str());
}
