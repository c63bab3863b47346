#include "timing.hpp"

#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <string>

#include "errors.hpp"

namespace attn {

namespace {

double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

// Collects the runs of the one benchmark we registered; prints nothing.
class CaptureReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) error = r.error_message.empty() ? "benchmark error" : r.error_message;
      const double ms = r.GetAdjustedRealTime();  // the benchmark's unit is milliseconds
      if (r.run_type == Run::RT_Iteration) {
        timing.repetition_ms.push_back(ms);
        timing.iterations_per_repetition = static_cast<long>(r.iterations);
      } else if (r.aggregate_name == "median") {
        timing.median_ms = ms;
      } else if (r.aggregate_name == "mean") {
        timing.mean_ms = ms;
      } else if (r.aggregate_name == "min") {
        timing.min_ms = ms;
      } else if (r.aggregate_name == "cv") {
        timing.cv = r.real_accumulated_time;  // percentage statistics carry the raw ratio
        have_cv = true;
      }
    }
  }
  Timing timing;
  bool have_cv = false;
  std::string error;
};

}  // namespace

// --min-time 0 means one call per repetition; Google Benchmark aborts on a MinTime of 0.
constexpr double kShortestMinTime = 1e-9;

void init_benchmark_library(const TimingOptions& opt) {
  std::string min_time = "--benchmark_min_time=" + std::to_string(std::max(opt.min_time, kShortestMinTime));
  std::string reps = "--benchmark_repetitions=" + std::to_string(opt.repetitions);
  std::string program = "attnbench";
  char* argv[] = {program.data(), min_time.data(), reps.data(), nullptr};
  int argc = 3;
  benchmark::Initialize(&argc, argv);
}

Timing time_case(const std::string& name, const std::function<void()>& fn, int threads, const TimingOptions& opt) {
  benchmark::ClearRegisteredBenchmarks();
  benchmark::RegisterBenchmark(name.c_str(),
                               [&fn, threads](benchmark::State& state) {
                                 omp_set_num_threads(threads);
                                 for (auto _ : state) fn();
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(std::max(opt.min_time, kShortestMinTime))
      ->MinWarmUpTime(opt.warmup_time)
      ->Repetitions(opt.repetitions)
      ->ComputeStatistics("min", [](const std::vector<double>& v) { return min_of(v); });
  omp_set_num_threads(threads);
  CaptureReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  if (!reporter.error.empty()) throw UserError("timing '" + name + "' failed: " + reporter.error);
  Timing t = reporter.timing;
  t.repetitions = static_cast<int>(t.repetition_ms.size());
  if (t.repetitions == 0) throw UserError("timing '" + name + "' produced no measurement");
  if (t.repetitions == 1) {  // the library computes no aggregates for a single repetition
    t.median_ms = t.min_ms = t.mean_ms = t.repetition_ms[0];
    t.cv = 0;
  } else if (!reporter.have_cv) {
    t.cv = 0;
  }
  return t;
}

}  // namespace attn
