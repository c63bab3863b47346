// attnbench peak: the peak this machine reaches for a thread count, ISA and dtype: the FMA loop
// (f32), vdpbf16ps (bf16) or vpdpbusd (int8), at the amx level tdpbf16ps / tdpbusd, in
// GFLOP/s-equivalent (2 per multiply-add).
#include <omp.h>

#include <boost/program_options.hpp>
#include <cstdio>

#include "commands.hpp"
#include "errors.hpp"
#include "impl_list.hpp"  // case_isa: f32 at amx is the avx512 FMA loop
#include "isa_choice.hpp"
#include "isa.hpp"
#include "peak.hpp"
#include "run_options.hpp"

namespace po = boost::program_options;

namespace attn {

namespace {
const char* loop_name(DType dtype, Isa isa) {
  const bool amx = isa == Isa::amx;
  switch (dtype) {
    case DType::bf16:
      return amx ? "bf16 tile loop (tdpbf16ps, 16x16x32 multiply-adds per instruction)"
                 : "bf16 dot loop (vdpbf16ps, 32 multiply-adds per instruction)";
    case DType::int8:
      return amx ? "int8 tile loop (tdpbusd, 16x16x64 multiply-adds per instruction)"
                 : "int8 dot loop (vpdpbusd, 64 multiply-adds per instruction)";
    default: return "fp32 FMA loop";
  }
}
}  // namespace

int cmd_peak(int argc, const char* const* argv) {
  int threads = 1;
  std::string isa_arg = "auto", dtype_arg = "f32";
  bool bandwidth = false;
  po::options_description desc("attnbench peak [--threads T] [--isa ISA] [--dtype f32|bf16|int8] [--bandwidth]");
  desc.add_options()("help,h", "this help")
      ("threads", po::value(&threads)->default_value(1), "OpenMP threads running the loop together")
      ("isa", po::value(&isa_arg)->default_value("auto"), "auto|amx|avx512bf16|avx512|avx2|sse2|scalar")
      ("dtype", po::value(&dtype_arg)->default_value("f32"),
       "f32 (FMA), bf16 (vdpbf16ps; tdpbf16ps at amx) or int8 (vpdpbusd; tdpbusd at amx); bf16 and int8 need "
       "avx512bf16 or amx")
      ("bandwidth", po::bool_switch(&bandwidth), "also measure read bandwidth (the threads stream 512 MiB at once)");
  po::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm)) return 0;
  DType dtype;
  if (!parse_dtype(dtype_arg, dtype) || dtype == DType::f16)
    throw UserError("--dtype '" + dtype_arg + "' must be f32, bf16 or int8 (f16 computes in float32: its peak is f32's)");
  set_thread_count(threads);
  const Isa isa = resolve_isa(isa_arg);
  const std::string why = peak_unavailable_reason(isa, dtype);
  if (!why.empty()) throw UserError(std::string("no ") + dtype_name(dtype) + " peak: " + why);
  const double gflops = measure_peak_gflops(threads, isa, dtype);
  std::printf("peak_gflops %.1f  (%s, isa %s, %d thread%s, per-thread CPU time, best of 10 trials)\n", gflops,
              loop_name(dtype, isa), isa_name(case_isa(dtype, isa)), threads, threads == 1 ? "" : "s");
  if (bandwidth)
    std::printf("bandwidth_gbs %.1f  (read, %d thread%s streaming 512 MiB, wall-clock time, best of 5 trials)\n",
                measure_bandwidth_gbs(threads), threads, threads == 1 ? "" : "s");
  return 0;
}

}  // namespace attn
