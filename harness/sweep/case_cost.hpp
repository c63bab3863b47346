// What a sweep case costs before it runs, for --max-case-time (skip a case predicted too slow)
// and the progress ETA. The prediction comes from the case itself, so it is the same in every
// shard and after --resume: scaled by FLOPs from the last measured case of its family (same
// variant and shape, another N), else, when asked, from a short calibration run of the same
// case at N <= 512.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "case_grid.hpp"
#include "problem.hpp"
#include "timing.hpp"

namespace attn {

// FLOPs of a pass relative to the forward's, as FlashAttention counts them.
double pass_factor(Pass pass);
// FLOPs of one timed call of the case (SPEC: useful work; bwd = 2.5 x fwd, fwdbwd = 3.5 x fwd),
// without --lens (an upper bound).
double case_flops(const SweepCase& c);

class CaseCostModel {
 public:
  // Seconds of one timed call of c: from its family's last measurement, else from a calibration
  // run when `calibrate` (nullopt when the variant cannot run the smaller case), else nullopt.
  std::optional<double> call_seconds(const SweepCase& c, bool calibrate);
  void measured(const SweepCase& c, double call_seconds);
  // Wall seconds the sweep spends on c (timing budget, warm-up, the checked call): from its
  // family, else from the FLOP rate of every case measured so far; nullopt before any.
  std::optional<double> wall_seconds(const SweepCase& c, double flops, const TimingOptions& timing) const;

 private:
  struct Measured {
    double flops, seconds;
  };
  std::map<std::string, Measured> last_in_family_;
  double measured_flops_ = 0, measured_seconds_ = 0;  // every measured case, for families not seen yet
};

}  // namespace attn
