// attnbench peak: the FMA peak this machine reaches for a thread count and ISA.
#include <omp.h>

#include <boost/program_options.hpp>
#include <cstdio>

#include "commands.hpp"
#include "isa_choice.hpp"
#include "isa.hpp"
#include "peak.hpp"
#include "run_options.hpp"

namespace po = boost::program_options;

namespace attn {

int cmd_peak(int argc, const char* const* argv) {
  int threads = 1;
  std::string isa_arg = "auto";
  bool bandwidth = false;
  po::options_description desc("attnbench peak [--threads T] [--isa ISA] [--bandwidth]");
  desc.add_options()("help,h", "this help")
      ("threads", po::value(&threads)->default_value(1), "OpenMP threads running the FMA loop together")
      ("isa", po::value(&isa_arg)->default_value("auto"), "auto|avx512|avx2|sse2|scalar")
      ("bandwidth", po::bool_switch(&bandwidth), "also measure read bandwidth (the threads stream 512 MiB at once)");
  po::variables_map vm;
  if (!parse_command_line(argc, argv, desc, vm)) return 0;
  set_thread_count(threads);
  const Isa isa = resolve_isa(isa_arg);
  const double gflops = measure_peak_gflops(threads, isa);
  std::printf("peak_gflops %.1f  (fp32 FMA loop, isa %s, %d thread%s, per-thread CPU time, best of 10 trials)\n", gflops, isa_name(isa),
              threads, threads == 1 ? "" : "s");
  if (bandwidth)
    std::printf("bandwidth_gbs %.1f  (read, %d thread%s streaming 512 MiB, wall-clock time, best of 5 trials)\n",
                measure_bandwidth_gbs(threads), threads, threads == 1 ? "" : "s");
  return 0;
}

}  // namespace attn
