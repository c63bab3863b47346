// The sweep's console report: a column for each case parameter the run varies, cv with a `*`
// on noisy cases, and the one-line summary on stderr.
#include <doctest/doctest.h>

#include <cstdio>

#include "cli_util.hpp"
#include "sweep_records.hpp"

using attn::test::run_attnbench;

namespace {

std::string header_of(const std::string& output) {
  const auto at = output.find("variant");
  return at == std::string::npos ? "" : output.substr(at, output.find('\n', at) - at);
}

}  // namespace

TEST_CASE("sweep table: columns for the parameters that vary, cv, and the summary line") {
  const std::string fast = attn::test::kFastTiming;
  const auto plain = run_attnbench("sweep --variant dense --seq 32 --head-dim 8" + fast);
  REQUIRE_MESSAGE(plain.exit_code == 0, plain.output);
  const std::string h = header_of(plain.output);
  CHECK(h.find(" cv ") != std::string::npos);
  for (const char* absent : {"Hkv", "dtype", "pass", "inputs", "lens"}) {
    CAPTURE(absent);
    CHECK(h.find(absent) == std::string::npos);
  }
  CHECK(plain.output.find("attnbench sweep: 1 case run, 0 skipped, ") != std::string::npos);
  CHECK(plain.output.find("s wall time") != std::string::npos);

  const auto varied = run_attnbench("sweep --variant dense --seq 32 --head-dim 8 --heads 4 --kv-heads 2 --dtype f32,bf16 "
                                    "--pass fwd,bwd --inputs local" + fast);
  REQUIRE_MESSAGE(varied.exit_code == 0, varied.output);
  const std::string hv = header_of(varied.output);
  for (const char* present : {"Hkv", "dtype", "pass", "inputs", " cv "}) {
    CAPTURE(present);
    CHECK(hv.find(present) != std::string::npos);
  }
  CHECK(hv.find("lens") == std::string::npos);
  CHECK(varied.output.find("bf16") != std::string::npos);
  CHECK(varied.output.find("local") != std::string::npos);
  // 4 cases: run or skipped (a dtype or pass a variant lacks is skipped with a reason).
  const auto summary = varied.output.find("attnbench sweep: ");
  int run = -1, skipped = -1;
  for (auto at = summary; at != std::string::npos; at = varied.output.find("attnbench sweep: ", at + 1))
    if (std::sscanf(varied.output.c_str() + at, "attnbench sweep: %d case%*s run, %d skipped", &run, &skipped) == 2) break;
  CHECK(run + skipped == 4);
  CHECK(run >= 1);
  // Noisy cases carry a `*` and the table a legend; both or neither.
  const bool marked = varied.output.find("* cv > 0.05") != std::string::npos;
  const bool counted = varied.output.find(" 0 noisy") == std::string::npos;
  CHECK(marked == counted);
}

TEST_CASE("sweep table: mass_recall beside approx_err, and one line saying what they mean") {
  const std::string fast = attn::test::kFastTiming;
  const auto r = run_attnbench("sweep --variant dense --variant window:left=8,right=0 --seq 64 --head-dim 8" + fast, false);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const std::string h = header_of(r.output);
  const auto approx = h.find("approx_err"), recall = h.find("mass_recall");
  REQUIRE(approx != std::string::npos);
  REQUIRE(recall != std::string::npos);
  CHECK(recall > approx);
  CHECK(r.output.find("approx_err = ||O - O_dense|| / ||O_dense||") != std::string::npos);
  // The window's row: it reads 9 of 64 keys per row at most, so it cannot hold all the mass.
  const auto row = r.output.find("\nwindow:left=8 ");  // the console leaves out options at their defaults
  REQUIRE(row != std::string::npos);
  const std::string line = r.output.substr(row + 1, r.output.find('\n', row + 1) - row - 1);
  CHECK(line.find(" 1.000 ") == std::string::npos);  // neither mass_recall nor density is 1
  // The default preset (what scripts/sweep runs) uses positional inputs, where sparse variants make sense.
  const auto dry = run_attnbench("sweep --preset default --dry-run", false);
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.output.find("|inputs=local") != std::string::npos);
}

TEST_CASE("sweep table: variants without the options at their defaults; md keeps the full spec") {
  const std::string args = "sweep --variant block_sparse:pattern=bigbird --variant block_sparse:pattern=longformer "
                           "--seq 64 --head-dim 8" + std::string(attn::test::kFastTiming);
  const auto table = run_attnbench(args, false);
  REQUIRE_MESSAGE(table.exit_code == 0, table.output);
  CHECK(table.output.find("\nblock_sparse  ") != std::string::npos);  // bigbird is the default pattern
  CHECK(table.output.find("\nblock_sparse:pattern=longformer,window=2  ") != std::string::npos);
  CHECK(table.output.find("random=2") == std::string::npos);
  const auto md = run_attnbench(args + " --format md", false);
  REQUIRE(md.exit_code == 0);
  CHECK(md.output.find("| block_sparse:block=64,global=1,pattern=bigbird,random=2,seed=0,window=1 |") != std::string::npos);
}
