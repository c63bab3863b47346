// Timing through Google Benchmark's runner: one benchmark registered per case at run time,
// repetitions with a warm-up, and a reporter that keeps per-repetition times and the
// library's aggregates (median, mean, cv, and a "min" statistic we add).
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace attn {

struct TimingOptions {
  double min_time = 0.05;     // seconds per repetition (GB 1.7.1 takes plain seconds)
  double warmup_time = 0.02;  // seconds of untimed runs before the first repetition
  int repetitions = 5;
};

struct Timing {
  double median_ms = 0, min_ms = 0, mean_ms = 0, cv = 0;
  int repetitions = 0;
  long iterations_per_repetition = 0;
  std::vector<double> repetition_ms;  // per-iteration time of each repetition
};

// Hands Google Benchmark a controlled argv built from our options (call once, before timing).
void init_benchmark_library(const TimingOptions& opt);

// Times fn() with `threads` OpenMP threads. Throws UserError if the library reports an error.
Timing time_case(const std::string& name, const std::function<void()>& fn, int threads, const TimingOptions& opt);

}  // namespace attn
