// Measuring one sweep case: limits, inputs, one checked forward for accuracy, then timing.
#pragma once
#include <string>

#include "case_cost.hpp"
#include "peak.hpp"
#include "problem.hpp"
#include "record.hpp"
#include "sweep_options.hpp"

namespace attn {

// What a sweep carries from case to case: the peak cache and the cost model (--max-case-time,
// the ETA).
struct SweepState {
  PeakCache peaks;
  CaseCostModel cost;
};

// A record with status "ok", or "skipped" with the reason (unsupported, memory, time).
SweepRecord run_sweep_case(const SweepCase& c, const SweepOptions& opt, SweepState& state);

// Builds the case's problem (no lens); throws UserError if the shape is invalid.
Problem case_problem(const SweepCase& c);

}  // namespace attn
