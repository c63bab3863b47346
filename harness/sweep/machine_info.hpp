// The machine a record was measured on: CPU, cores, compiler and flags, source commit, date.
#pragma once
#include <string>

namespace attn {

struct MachineInfo {
  std::string cpu;       // "model name" from /proc/cpuinfo
  int cores = 0;         // logical CPUs online
  std::string compiler;  // id and version the harness was built with
  std::string flags;     // CMake build flags of this build type
  std::string commit;    // git commit of the source tree ("-dirty" if it had changes), or "unknown"
  std::string date;      // UTC, ISO 8601, when the sweep started
  std::string blas;      // BLAS library and the kernel family it runs (dense_blas)
};

// Gathered once per process.
const MachineInfo& machine_info();
// As a JSON object.
std::string machine_json(const MachineInfo& m);

}  // namespace attn
