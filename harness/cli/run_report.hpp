// `attnbench run --time --check`: what a user asks of one run besides its output file: which
// implementation ran, how long it takes (timed as a sweep times a case) and how far it is from
// the float64 reference, each as one line on stdout.
#pragma once
#include <string>

#include "timing.hpp"
#include "variant.hpp"

namespace attn {

struct RunReportRequest {
  bool time = false, check = false;
  TimingOptions timing;
};

// "dense  impl f32-flash-6x4v-avx512  (4 threads)"
std::string impl_line(const Variant& v, const std::string& impl, int threads);
// "time  median 1.94 ms  min 1.90 ms  cv 0.012  (5 repetitions x 26 calls)  138.2 GFLOP/s"
// Times plan.run(inputs) with `threads` threads.
std::string time_line(const Variant& v, const Problem& p, Plan& plan, const Tensors& inputs, float* out, int threads,
                      const TimingOptions& opt);
// "check  max_abs_err 2.4e-07  rel_err 3.1e-07  approx_err 0 (vs exact dense)  rows all"
// `original` are the float32 inputs before any --dtype rounding, as in a sweep record.
std::string check_line(const Variant& v, const Problem& p, const Tensors& original, const float* out);

}  // namespace attn
