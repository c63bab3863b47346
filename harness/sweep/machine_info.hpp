// The machine a record was measured on: CPU, cores, compiler and flags, source commit, date.
#pragma once
#include <string>
#include <vector>

#include "machine_probe.hpp"

namespace attn {

struct MachineInfo {
  std::string cpu;       // "model name" from /proc/cpuinfo
  int cores = 0;         // logical CPUs online
  std::string compiler;  // id and version the harness was built with
  std::string flags;     // CMake build flags of this build type
  std::string commit;    // git commit of the source tree ("-dirty" if it had changes), or "unknown"
  std::string date;      // UTC, ISO 8601, when the sweep started
  std::string blas;      // BLAS library and the kernel family it runs (dense_blas)
  // Google Benchmark's context, gathered when the first record is made (machine_probe.hpp).
  double mhz = 0;
  std::vector<CacheInfo> caches;
  std::vector<double> load_avg;        // 1, 5, 15 minutes: a busy machine explains noisy times
  std::string omp_proc_bind, omp_places;  // "" when unset
  std::string affinity;                // CPUs the process may run on, e.g. "0-3"
  int affinity_cpus = 0;
  std::string xsimd_version, benchmark_version, openblas_config;
};

// The project version (CMake's project VERSION), e.g. "0.1.0".
const char* attnbench_version();

// Gathered once per process.
const MachineInfo& machine_info();
// As a JSON object.
std::string machine_json(const MachineInfo& m);

}  // namespace attn
