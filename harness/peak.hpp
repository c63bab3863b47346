// The measured FMA peak of this machine for a thread count and ISA: the denominator of
// every record's pct_peak.
#pragma once
#include <map>
#include <utility>

#include "isa.hpp"

namespace attn {

// Runs the ISA's fma_loop on `threads` OpenMP threads at once; best of `trials` (GFLOP/s).
// Each thread's rate is taken over its own CPU time (robust on a shared machine).
double measure_peak_gflops(int threads, Isa isa, int trials = 10);

// Measures each (threads, ISA) once per process.
class PeakCache {
 public:
  double get(int threads, Isa isa);

 private:
  std::map<std::pair<int, Isa>, double> cache_;
};

}  // namespace attn
