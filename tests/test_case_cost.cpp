// Predicting a case's cost: --max-case-time decides from the case itself (the same in every shard
// and after --resume), and the ETA weighs the cases left by their cost, not their count.
#include <doctest/doctest.h>

#include "case_cost.hpp"
#include "cli_util.hpp"
#include "sweep_progress.hpp"

using namespace attn;

namespace {
SweepCase dense_case(int n) {
  SweepCase c;
  c.variant = "dense";
  c.seq_q = c.seq_kv = n;
  c.head_dim = 64;
  c.isa = Isa::scalar;
  return c;
}
}  // namespace

TEST_CASE("--max-case-time skips a slow case with no smaller one before it") {
  // A one-case sweep (as a shard holding only naive at 2k would be): the calibration run at
  // N = 512 predicts it; a generous limit lets it run.
  const auto slow = test::run_attnbench("sweep --variant naive --seq 2k --head-dim 64 --max-case-time 0.0001 --format csv",
                                        false);
  REQUIRE(slow.exit_code == 0);
  CHECK(slow.output.find("skipped") != std::string::npos);
  const auto err = test::run_attnbench("sweep --variant naive --seq 2k --head-dim 64 --max-case-time 0.0001");
  CHECK(err.output.find("estimated") != std::string::npos);
  CHECK(err.output.find("exceeds --max-case-time 0.0001") != std::string::npos);
  const auto fine = test::run_attnbench("sweep --variant naive --seq 64 --head-dim 8 --max-case-time 100 --min-time 0.001 "
                                        "--warmup 0 --repetitions 1");
  CHECK(fine.exit_code == 0);
  CHECK(fine.output.find("1 case run, 0 skipped") != std::string::npos);
}

TEST_CASE("the calibration scales by FLOPs and follows the family's last measurement") {
  CaseCostModel model;
  const SweepCase small = dense_case(256), big = dense_case(1024);
  CHECK(!model.call_seconds(big, false));  // nothing measured, no calibration asked
  const auto calibrated = model.call_seconds(big, true);
  REQUIRE(calibrated);
  CHECK(*calibrated > 0);
  model.measured(small, 0.5);
  // 1024^2 / 256^2 = 16 times the FLOPs of the measured case.
  CHECK(*model.call_seconds(big, false) == doctest::Approx(8.0));
  CHECK(case_flops(big) == doctest::Approx(16 * case_flops(small)));
}

TEST_CASE("the ETA counts the cost of the cases left, not their number") {
  CaseCostModel model;
  const std::vector<SweepCase> cases = {dense_case(256), dense_case(4096)};
  const std::vector<double> flops = {case_flops(cases[0]), case_flops(cases[1])};
  TimingOptions timing;
  timing.min_time = 0, timing.warmup_time = 0, timing.repetitions = 1;
  CHECK(!eta_seconds(cases, flops, 1, 2.0, model, timing));  // nothing measured yet
  model.measured(cases[0], 0.01);
  // One case done in 2 s; the one left has 256 times its FLOPs: 512 s, not 2 s.
  const auto eta = eta_seconds(cases, flops, 1, 2.0, model, timing);
  REQUIRE(eta);
  CHECK(*eta == doctest::Approx(512.0));
  // With a timing budget per case the small cases cost at least that budget.
  timing.min_time = 1, timing.repetitions = 5;
  const auto budgeted = eta_seconds(cases, flops, 1, 5.0, model, timing);
  REQUIRE(budgeted);
  CHECK(*budgeted < 512.0);
  CHECK(*budgeted > 5.0);
}

TEST_CASE("--min-time 0 (documented as allowed) times one call per repetition instead of aborting") {
  for (const char* cmd : {"sweep --variant dense --seq 64 --head-dim 8 --min-time 0 --warmup 0 --repetitions 2",
                          "sweep --variant dense --seq 64 --head-dim 8 --pass bwd --min-time 0 --warmup 0 --repetitions 1"}) {
    CAPTURE(cmd);
    const auto r = test::run_attnbench(cmd);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("1 case run, 0 skipped") != std::string::npos);
  }
}
