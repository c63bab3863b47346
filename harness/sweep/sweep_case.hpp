// Measuring one sweep case: limits, inputs, one checked forward for accuracy, then timing.
#pragma once
#include <map>
#include <string>

#include "peak.hpp"
#include "problem.hpp"
#include "record.hpp"
#include "sweep_options.hpp"

namespace attn {

// What a sweep carries from case to case: the peak cache and the last measured time of
// each family (for --max-case-time estimates).
struct SweepState {
  PeakCache peaks;
  struct Measured {
    double flops, seconds;
  };
  std::map<std::string, Measured> last_in_family;
};

// A record with status "ok", or "skipped" with the reason (unsupported, memory, time).
SweepRecord run_sweep_case(const SweepCase& c, const SweepOptions& opt, SweepState& state);

// Builds the case's problem (no lens); throws UserError if the shape is invalid.
Problem case_problem(const SweepCase& c);

}  // namespace attn
