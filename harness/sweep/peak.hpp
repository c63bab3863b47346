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

// Read bandwidth (GB/s) of `threads` OpenMP threads streaming disjoint slices of one buffer
// much larger than the caches, at once; best of `trials`, over wall-clock time (bandwidth is
// shared: a thread's CPU time would overstate it).
double measure_bandwidth_gbs(int threads, int trials = 5);

// Measures each (threads, ISA) peak and each thread count's bandwidth once per process.
class PeakCache {
 public:
  double get(int threads, Isa isa);
  double bandwidth(int threads);

 private:
  std::map<std::pair<int, Isa>, double> cache_;
  std::map<int, double> bandwidth_;
};

}  // namespace attn
