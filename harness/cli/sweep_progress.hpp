// The sweep's progress line on a terminal: "[12/40] ETA 85 s  CASE". The ETA weighs the cases
// left by their predicted cost (case_cost.hpp), not their count: one naive case at 16k can take
// longer than a hundred small ones.
#pragma once
#include <chrono>
#include <vector>

#include "case_cost.hpp"
#include "case_grid.hpp"
#include "timing.hpp"

namespace attn {

// Seconds left: elapsed * (predicted cost of cases[done..]) / (predicted cost of cases[..done]),
// so the model's overall bias cancels. nullopt before anything is measured.
std::optional<double> eta_seconds(const std::vector<SweepCase>& cases, const std::vector<double>& flops,
                                  std::size_t done, double elapsed, const CaseCostModel& cost,
                                  const TimingOptions& timing);

class SweepProgress {
 public:
  SweepProgress(const std::vector<SweepCase>& cases, const TimingOptions& timing);
  // Before case `done` (0-based) runs.
  void show(std::size_t done, const CaseCostModel& cost) const;
  void clear() const;

 private:
  using clock = std::chrono::steady_clock;
  const std::vector<SweepCase>& cases_;
  TimingOptions timing_;
  std::vector<double> flops_;
  bool on_;
  clock::time_point start_;
};

}  // namespace attn
