#include "case_cost.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "case_inputs.hpp"
#include "errors.hpp"
#include "precision.hpp"
#include "sweep_case.hpp"
#include "variant.hpp"

namespace attn {

namespace {
// Small enough that the calibration of even naive costs milliseconds, large enough that the
// kernels run their steady state.
constexpr int kCalibrationN = 512;

// Seconds of one forward call of c at N <= kCalibrationN, scaled to c by FLOPs (and by the
// pass factor: the backward is not calibrated, it is counted as FLOPs are).
std::optional<double> calibrate(const SweepCase& c) {
  SweepCase small = c;
  small.seq_q = std::min(c.seq_q, kCalibrationN);
  small.seq_kv = std::min(c.seq_kv, kCalibrationN);
  try {
    const auto variant = make_variant(c.variant);
    CaseInputs in;
    in.problem = case_problem(small);
    in.problem.pass = Pass::fwd;
    const Problem& p = in.problem;
    if (!variant->unsupported_reason(p).empty()) return std::nullopt;
    check_problem(*variant, p);
    const std::string kind = c.param("inputs", "gaussian");
    generate_inputs(kind, input_seed(p, kind), in);
    const StoredInputs stored = store_inputs(p, in.tensors());
    const auto plan = variant->plan(p, c.isa);
    std::vector<float> out(p.q_elems());
    using clock = std::chrono::steady_clock;
    plan->run(stored.tensors(), {out.data(), nullptr});  // warm
    const auto start = clock::now();
    double elapsed = 0;
    int calls = 0;
    do {
      plan->run(stored.tensors(), {out.data(), nullptr});
      ++calls;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < 0.02 && calls < 1000);
    const double small_flops = variant->flops(p);
    if (small_flops <= 0) return std::nullopt;
    return elapsed / calls * case_flops(c) / small_flops;
  } catch (const UserError&) {
    return std::nullopt;  // e.g. a layout file made for the full N: no prediction, the case runs
  }
}
}  // namespace

double pass_factor(Pass pass) { return pass == Pass::fwd ? 1.0 : pass == Pass::bwd ? 2.5 : 3.5; }

double case_flops(const SweepCase& c) {
  const Problem p = case_problem(c);
  return make_variant(c.variant)->flops(p) * pass_factor(p.pass);
}

std::optional<double> CaseCostModel::call_seconds(const SweepCase& c, bool calibrate_if_unknown) {
  const auto it = last_in_family_.find(c.family());
  if (it != last_in_family_.end() && it->second.flops > 0) return it->second.seconds * case_flops(c) / it->second.flops;
  if (!calibrate_if_unknown) return std::nullopt;
  return calibrate(c);
}

void CaseCostModel::measured(const SweepCase& c, double call_seconds) {
  const double flops = case_flops(c);
  last_in_family_[c.family()] = {flops, call_seconds};
  measured_flops_ += flops;
  measured_seconds_ += call_seconds;
}

std::optional<double> CaseCostModel::wall_seconds(const SweepCase& c, double flops, const TimingOptions& timing) const {
  double call = 0;
  const auto it = last_in_family_.find(c.family());
  if (it != last_in_family_.end() && it->second.flops > 0) call = it->second.seconds * flops / it->second.flops;
  else if (measured_flops_ > 0) call = measured_seconds_ * flops / measured_flops_;
  else return std::nullopt;
  // Google Benchmark: warm-up, then each repetition runs at least min_time and at least one call;
  // before it, one checked call (and the float64 references, roughly as long again).
  return timing.warmup_time + timing.repetitions * std::max(timing.min_time, call) + 2 * call;
}

}  // namespace attn
