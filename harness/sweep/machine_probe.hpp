// What Google Benchmark's context reports about a machine, read from /proc and sysfs: clock,
// caches, load, thread pinning, and the versions of the libraries a timing depends on. Every
// probe degrades to an empty or zero value where the file or the library is missing.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "isa.hpp"

namespace attn {

struct CacheInfo {
  int level = 0;
  std::string type;  // Data, Instruction, Unified
  long size_bytes = 0;
  int shared_by = 0;  // logical CPUs sharing it
};

double cpu_mhz();                        // "cpu MHz" of the first CPU in /proc/cpuinfo, 0 if absent
std::vector<CacheInfo> cpu_caches();     // /sys/devices/system/cpu/cpu0/cache/index*
std::vector<double> load_average();      // 1, 5 and 15 minute load from /proc/loadavg (empty if absent)
std::string affinity_list();             // CPUs this process may run on (sched_getaffinity), e.g. "0-3,8"
int affinity_count();
std::string env_or_empty(const char* name);  // OMP_PROC_BIND, OMP_PLACES
std::string xsimd_version();             // from XSIMD_VERSION_* at build time
std::string benchmark_version();         // Google Benchmark, from its CMake package at build time
std::string openblas_config();           // openblas_get_config() of the loaded OpenBLAS, "" if none

// The widest ISA an OpenBLAS core type's kernels use ("Haswell" -> avx2, "SkylakeX" -> avx512,
// "Prescott" -> sse2); nullopt for a name this table does not know.
std::optional<Isa> blas_core_isa(const std::string& core);
// A warning when the BLAS baseline runs narrower kernels than the widest ISA asked for (its
// GFLOP/s would then understate what a BLAS can do here), else "". `blas` is blas_description().
std::string blas_width_warning(const std::string& blas, Isa widest_asked);

}  // namespace attn
