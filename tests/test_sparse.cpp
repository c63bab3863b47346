// window, block_sparse, sink and dilated against the independent SPEC reference: each
// visibility rule is written again here from SPEC.md / the variant's documented definition,
// without the variants' masks.
#include <doctest/doctest.h>

#include <functional>
#include <random>

#include "block_patterns.hpp"
#include "cli_util.hpp"
#include "errors.hpp"
#include "independent_reference.hpp"
#include "npy.hpp"

using namespace attn;

namespace {
struct Shape {
  int B, H, Hkv, Nq, Nk, D;
};
// N=1, odd N, Nq != Nk both ways, GQA/MQA, D from 1 to 256.
const Shape kShapes[] = {
    {1, 1, 1, 1, 1, 1}, {1, 2, 1, 77, 77, 40}, {1, 1, 1, 130, 65, 80}, {2, 4, 2, 65, 200, 16}, {1, 3, 1, 200, 200, 1},
};
const Shape kBigHead = {1, 1, 1, 70, 130, 256};

using Rule = std::function<bool(int h, long i, long j)>;  // the variant's rule; causal is added by spec_attention

// Runs `spec` on every ISA and compares with the independent reference built from `rule`.
void check_against_spec(const std::string& spec, const Shape& s, bool causal, const std::function<Rule(const Problem&)>& rule_for) {
  const auto v = make_variant(spec);
  auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 3);
  REQUIRE_MESSAGE(v->unsupported_reason(in.p).empty(), spec);
  const auto ref = test::spec_attention(in, rule_for(in.p));
  for (Isa isa : supported_isas()) {
    INFO(spec, " ", isa_name(isa), " Nq=", s.Nq, " Nk=", s.Nk, " D=", s.D, " H=", s.H, " Hkv=", s.Hkv, " causal=", causal);
    CHECK(test::rel_err(test::run(*v, in, isa), ref) < 1e-5);
  }
}

long pos(const Problem& p, long i) { return i + (static_cast<long>(p.Nk) - p.Nq); }

Rule window_rule(const Problem& p, long left, long right) {
  return [=](int, long i, long j) {
    return (left < 0 || j >= pos(p, i) - left) && (right < 0 || j <= pos(p, i) + right);
  };
}

// Every row of `out` whose rule admits no key must be exactly zero.
bool empty_rows_are_zero(const std::vector<float>& out, const test::Inputs& in, const Rule& rule) {
  const Problem& p = in.p;
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h)
      for (long i = 0; i < p.Nq; ++i) {
        bool any = false;
        for (long j = 0; j < p.Nk && !any; ++j) any = rule(h, i, j) && (!p.causal || j <= pos(p, i));
        if (any) continue;
        for (int d = 0; d < p.D; ++d)
          if (out[((static_cast<std::size_t>(b) * p.H + h) * p.Nq + i) * p.D + d] != 0.0f) return false;
      }
  return true;
}

double density(const std::string& spec, Problem p) {
  const auto v = make_variant(spec);
  return v->visible_pairs(p) / (double(p.B) * p.H * p.Nq * p.Nk);
}

Problem square(int N, bool causal, int H = 1) {
  Problem p;
  p.H = H, p.Hkv = 1, p.Nq = p.Nk = N, p.D = 64, p.causal = causal;
  return p;
}
}  // namespace

TEST_CASE("window matches the SPEC rule, including edges and windows wider than N") {
  const std::pair<long, long> windows[] = {{0, 0}, {5, 0}, {0, 5}, {3, 70}, {-1, 0}, {0, -1}, {-1, -1}, {63, 64}, {1000, 1000}};
  for (const Shape& s : kShapes)
    for (auto [left, right] : windows)
      for (bool causal : {false, true}) {
        const std::string spec = "window:left=" + std::to_string(left) + ",right=" + std::to_string(right);
        check_against_spec(spec, s, causal, [=](const Problem& p) { return window_rule(p, left, right); });
      }
  check_against_spec("window:left=100,right=3", kBigHead, true, [](const Problem& p) { return window_rule(p, 100, 3); });
}

TEST_CASE("window rows that see no key are zero") {
  // Nq > Nk: the first rows sit at negative positions; with right=0 they see nothing.
  auto in = test::make_inputs(1, 2, 1, 150, 40, 24, false, 4);
  const auto v = make_variant("window:left=10,right=0");
  const Rule rule = window_rule(in.p, 10, 0);
  for (Isa isa : supported_isas()) {
    CAPTURE(isa_name(isa));
    const auto out = test::run(*v, in, isa);
    CHECK(test::rel_err(out, test::spec_attention(in, rule)) < 1e-5);
    CHECK(empty_rows_are_zero(out, in, rule));
  }
}

TEST_CASE("sink and dilated match their documented rules") {
  for (const Shape& s : kShapes)
    for (bool causal : {false, true}) {
      for (auto [sink, window] : {std::pair<long, long>{4, 16}, {0, 0}, {100, 5}, {3, 1000}})
        check_against_spec("sink:sink=" + std::to_string(sink) + ",window=" + std::to_string(window), s, causal,
                           [=](const Problem& p) {
                             return Rule([=](int, long i, long j) {
                               return j <= pos(p, i) && (j < sink || j >= pos(p, i) - window);
                             });
                           });
      for (auto [left, right, dil] : {std::tuple<long, long, long>{64, 0, 2}, {20, 20, 3}, {-1, -1, 5}, {300, 0, 64}})
        check_against_spec("dilated:left=" + std::to_string(left) + ",right=" + std::to_string(right) +
                               ",dilation=" + std::to_string(dil),
                           s, causal, [=](const Problem& p) {
                             const Rule in_window = window_rule(p, left, right);
                             return Rule([=](int h, long i, long j) {
                               return in_window(h, i, j) && (pos(p, i) - j) % dil == 0;
                             });
                           });
    }
  check_against_spec("sink:sink=2,window=50", kBigHead, true,
                     [](const Problem& p) { return Rule([=](int, long i, long j) { return j <= pos(p, i) && (j < 2 || j >= pos(p, i) - 50); }); });
}

namespace {
// A random per-head layout with some all-zero query-block rows, written as a uint8 .npy.
struct LayoutFile {
  std::string path;
  long heads, qb, kb;
  std::vector<uint8_t> cells;
  bool at(int h, long q, long k) const { return cells[((heads == 1 ? 0 : h) * qb + q) * kb + k] != 0; }
};

LayoutFile write_layout(const std::string& name, long heads, long qb, long kb, unsigned seed) {
  LayoutFile f{test::temp_path(name), heads, qb, kb, std::vector<uint8_t>(heads * qb * kb)};
  std::mt19937 rng(seed);
  for (long h = 0; h < heads; ++h)
    for (long q = 0; q < qb; ++q) {
      const bool empty_row = q % 3 == 1;  // query blocks that see nothing
      for (long k = 0; k < kb; ++k) f.cells[(h * qb + q) * kb + k] = !empty_row && rng() % 2;
    }
  write_npy_u8(f.path, {heads, qb, kb}, f.cells.data());
  return f;
}
}  // namespace

TEST_CASE("block_sparse with layout=FILE.npy: any block size, per-head layouts, empty query blocks") {
  for (const Shape& s : {kShapes[1], kShapes[2], kShapes[3], kShapes[4], kBigHead})
    for (long b : {1L, 16L, 32L, 48L, 100L, 1000L}) {
        if (b == 1 && s.D > 40) continue;  // element-sized blocks: keep the suite fast
        const long heads = b % 32 == 0 ? 1 : s.H;  // shared and per-head layouts, alternately
        const long qb = (s.Nq + b - 1) / b, kb = (s.Nk + b - 1) / b;
        const LayoutFile f = write_layout("layout_" + std::to_string(b) + "_" + std::to_string(heads) + ".npy", heads, qb, kb,
                                          static_cast<unsigned>(b * 31 + heads));
        const std::string spec = "block_sparse:block=" + std::to_string(b) + ",layout=" + f.path;
        for (bool causal : {false, true}) {
          check_against_spec(spec, s, causal, [&](const Problem&) {
            return Rule([&f, b](int h, long i, long j) { return f.at(h, i / b, j / b); });
          });
          auto in = test::make_inputs(s.B, s.H, s.Hkv, s.Nq, s.Nk, s.D, causal, 3);
          const Rule rule = [&f, b](int h, long i, long j) { return f.at(h, i / b, j / b); };
          CHECK(empty_rows_are_zero(test::run(*make_variant(spec), in, best_isa()), in, rule));
        }
      }
}

TEST_CASE("block_sparse generator patterns follow their layouts on every ISA") {
  const char* specs[] = {
      "block_sparse:pattern=local,block=16,window=1",       "block_sparse:pattern=local,block=100,window=0",
      "block_sparse:pattern=strided,block=32,stride=3",     "block_sparse:pattern=fixed,block=16,stride=4,summary=2",
      "block_sparse:pattern=bigbird,block=64,random=2,seed=7", "block_sparse:pattern=bigbird,block=48,random=1,global=2",
      "block_sparse:pattern=longformer,block=32,window=1",  "block_sparse:pattern=random,block=16,random=3,seed=1",
      "block_sparse",
  };
  for (const char* spec : specs)
    for (const Shape& s : {kShapes[1], kShapes[2], kShapes[3], kBigHead})
      for (bool causal : {false, true})
        check_against_spec(spec, s, causal, [&](const Problem& p) {
          // The generator is the variant's own code; what is checked independently here is the
          // element rule L[h or 0][i / b][j / b] and the engine over it.
          const ParsedSpec parsed = parse_spec(spec);
          BlockPatternParams params;
          params.pattern = "bigbird";
          for (const auto& [k, v] : parsed.options) {
            if (k == "pattern") params.pattern = v;
            if (k == "block") params.block = std::stol(v);
            if (k == "window") params.window = std::stol(v);
            if (k == "stride") params.stride = std::stol(v);
            if (k == "summary") params.summary = std::stol(v);
            if (k == "global") params.global = std::stol(v);
            if (k == "random") params.random = std::stol(v);
            if (k == "seed") params.seed = std::stoul(v);
          }
          if (params.pattern == "random" && !parsed.options.empty() && params.random == 2) params.random = 3;
          auto L = std::make_shared<BlockLayout>(generate_block_layout(params, p));
          const long b = params.block;
          return Rule([L, b](int h, long i, long j) { return L->at(L->heads == 1 ? 0 : h, i / b, j / b) != 0; });
        });
}

TEST_CASE("block pattern generators build the documented layouts") {
  Problem p = square(640, false, 4);
  BlockPatternParams local;
  local.pattern = "local", local.block = 64, local.window = 1;
  const BlockLayout L = generate_block_layout(local, p);
  CHECK(L.heads == 1);
  REQUIRE(L.q_blocks == 10);
  for (long q = 0; q < 10; ++q)
    for (long k = 0; k < 10; ++k) CHECK(L.at(0, q, k) == (std::abs(q - k) <= 1));

  BlockPatternParams bb;
  bb.pattern = "bigbird", bb.block = 64, bb.window = 1, bb.global = 1, bb.random = 2, bb.seed = 7;
  const BlockLayout B1 = generate_block_layout(bb, p), B2 = generate_block_layout(bb, p);
  CHECK(B1.cells == B2.cells);  // a seed names one layout
  CHECK(B1.heads == 4);
  bool heads_differ = false;
  for (long q = 0; q < 10; ++q)
    for (long k = 0; k < 10; ++k) heads_differ = heads_differ || B1.at(0, q, k) != B1.at(1, q, k);
  CHECK(heads_differ);
  for (int h = 0; h < 4; ++h)
    for (long q = 1; q < 10; ++q) {  // q = 0 is global and sees everything
      long on = 0;
      for (long k = 0; k < 10; ++k) on += B1.at(h, q, k);
      const long window_and_global = 1 + std::min(q + 1, 9L) - std::max(q - 1, 1L) + 1;
      CHECK(on == window_and_global + 2);  // plus exactly `random` random blocks
    }
  bb.seed = 8;
  CHECK(generate_block_layout(bb, p).cells != B1.cells);

  // Causal: random blocks are drawn only from blocks the query block can see.
  p.causal = true;
  BlockPatternParams rnd;
  rnd.pattern = "random", rnd.block = 64, rnd.random = 3;
  const BlockLayout R = generate_block_layout(rnd, p);
  for (int h = 0; h < 4; ++h)
    for (long q = 0; q < 10; ++q) {
      long on = 0;
      for (long k = 0; k < 10; ++k) {
        on += R.at(h, q, k);
        CHECK((k <= q || !R.at(h, q, k)));
      }
      CHECK(on == std::min(3L, q + 1));
    }
}

TEST_CASE("density counts what the mask keeps") {
  // window left=W, right=0, causal: row i sees min(i, W) + 1 keys.
  const long N = 4096, W = 128;
  double pairs = 0;
  for (long i = 0; i < N; ++i) pairs += std::min(i, W) + 1;
  CHECK(density("window:left=128,right=0", square(N, true)) == doctest::Approx(pairs / (double(N) * N)));
  CHECK(density("window:left=128,right=0", square(N, true)) == doctest::Approx((W + 1.0) / N).epsilon(0.02));
  // local pattern, window 0 (diagonal blocks only), N = 10 blocks: exactly 1/10.
  CHECK(density("block_sparse:pattern=local,window=0,block=64", square(640, false)) == doctest::Approx(0.1));
  // block 100 on N = 250: diagonal blocks of 100, 100 and 50 -> (2 * 100^2 + 50^2) / 250^2.
  CHECK(density("block_sparse:pattern=local,window=0,block=100", square(250, false)) ==
        doctest::Approx((2 * 1e4 + 2500) / 62500.0));
  // sink=4, window=0, causal N=1000: row i sees min(i + 1, 4) sinks plus itself when i >= 4.
  double sink_pairs = 0;
  for (long i = 0; i < 1000; ++i) sink_pairs += std::min(i + 1, 4L) + (i >= 4 ? 1 : 0);
  CHECK(density("sink:sink=4,window=0", square(1000, true)) == doctest::Approx(sink_pairs / 1e6));
  // dilation 2 over the whole causal past: about half the causal triangle.
  CHECK(density("dilated:left=-1,right=0,dilation=2", square(1000, true)) == doctest::Approx(0.25).epsilon(0.01));
}

TEST_CASE("bad sparse options are one-line UserErrors") {
  CHECK_THROWS_AS(make_variant("block_sparse:block=0"), UserError);
  CHECK_THROWS_AS(make_variant("block_sparse:pattern=diagonal"), UserError);
  CHECK_THROWS_AS(make_variant("block_sparse:pattern=local,random=2"), UserError);
  CHECK_THROWS_AS(make_variant("block_sparse:pattern=fixed,stride=2,summary=3"), UserError);
  CHECK_THROWS_AS(make_variant("window:left=-2"), UserError);
  CHECK_THROWS_AS(make_variant("window:left=3,top=1"), UserError);
  CHECK_THROWS_AS(make_variant("dilated:dilation=0"), UserError);
  CHECK_THROWS_AS(make_variant("sink:sink=-1"), UserError);
  CHECK_THROWS_AS(make_variant("block_sparse:layout=/nonexistent/layout.npy"), UserError);

  const LayoutFile f = write_layout("layout_bad.npy", 2, 3, 3, 1);
  CHECK_THROWS_AS(make_variant("block_sparse:layout=" + f.path + ",pattern=local"), UserError);
  const auto v = make_variant("block_sparse:block=64,layout=" + f.path);
  Problem ok = square(150, false, 2), wrong_n = square(300, false, 2), wrong_h = square(150, false, 3);
  CHECK_NOTHROW(check_problem(*v, ok));
  CHECK_THROWS_AS(check_problem(*v, wrong_n), UserError);
  CHECK_THROWS_AS(check_problem(*v, wrong_h), UserError);
  // A generated layout that would not fit in memory is refused, not allocated.
  CHECK_THROWS_AS(check_problem(*make_variant("block_sparse:block=1,pattern=random"), square(1 << 16, false, 2)),
                  UserError);

  // Through the command line: exit status 2 and a single line naming the layout.
  const std::string q = test::write_tensor("sparse_q.npy", {2, 300, 8});
  const auto r = test::run_attnbench("run --variant block_sparse:block=64,layout=" + f.path + " --q " + q + " --k " + q +
                                     " --v " + q + " --out " + test::temp_path("sparse_o.npy"));
  CHECK(r.exit_code == 2);
  CHECK(r.lines() == 1);
  CHECK(r.output.find("layout") != std::string::npos);
}
