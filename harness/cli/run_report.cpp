#include "run_report.hpp"

#include <cstdio>

#include "accuracy.hpp"

namespace attn {

namespace {
std::string format(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}
std::string number_or_null(const std::optional<double>& x) { return x ? format("%.3g", *x) : "null"; }
}  // namespace

std::string impl_line(const Variant& v, const std::string& impl, int threads) {
  return v.spec() + "  impl " + impl + "  (" + std::to_string(threads) + " thread" +
         (threads == 1 ? "" : "s") + ")";
}

std::string time_line(const Variant& v, const Problem& p, Plan& plan, const Tensors& inputs, float* out, int threads,
                      const TimingOptions& opt) {
  init_benchmark_library(opt);
  const Timing t = time_case("run", [&] { plan.run(inputs, {out, nullptr}); }, threads, opt);
  std::string line = "time  median " + format("%.4g", t.median_ms) + " ms  min " + format("%.4g", t.min_ms) +
                     " ms  cv " + format("%.3f", t.cv) + "  (" + std::to_string(t.repetitions) + " repetitions x " +
                     std::to_string(t.iterations_per_repetition) + " calls)";
  if (t.median_ms > 0) line += "  " + format("%.1f", v.flops(p) / (t.median_ms * 1e-3) * 1e-9) + " GFLOP/s";
  return line;
}

std::string check_line(const Variant& v, const Problem& p, const Tensors& original, const float* out) {
  const Accuracy a = measure_accuracy(v, p, original, out);
  std::string line = "check  max_abs_err " + number_or_null(a.max_abs_err) + "  rel_err " + number_or_null(a.rel_err) +
                     " (vs its float64 reference)  approx_err " + number_or_null(a.approx_err) +
                     " (vs exact dense)  rows " + a.rows;
  if (!a.note.empty()) line += "  note: " + a.note;
  return line;
}

}  // namespace attn
