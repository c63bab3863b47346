#include "machine_info.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>

#include "attnbench/attnbench.hpp"  // blas_description
#include "record.hpp"

#ifndef ATTNBENCH_COMPILER
#define ATTNBENCH_COMPILER "unknown"
#endif
#ifndef ATTNBENCH_FLAGS
#define ATTNBENCH_FLAGS "unknown"
#endif
#ifndef ATTNBENCH_SOURCE_DIR
#define ATTNBENCH_SOURCE_DIR ""
#endif
#ifndef ATTNBENCH_BUILD_COMMIT
#define ATTNBENCH_BUILD_COMMIT "unknown"
#endif

#ifndef ATTNBENCH_VERSION
#define ATTNBENCH_VERSION "unknown"
#endif

namespace attn {

const char* attnbench_version() { return ATTNBENCH_VERSION; }

namespace {
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

std::string shell_line(const std::string& cmd) {
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return "";
  char buf[256] = {0};
  std::string out = fgets(buf, sizeof buf, pipe) ? buf : "";
  pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The source tree's commit now if it is a git checkout (the binary may be older than the
// tree; the build-time commit is the fallback when git or the tree is gone).
std::string source_commit() {
  const std::string dir = ATTNBENCH_SOURCE_DIR;
  if (!dir.empty()) {
    const std::string git = "git -C '" + dir + "' ";
    const std::string head = shell_line(git + "rev-parse --short=12 HEAD 2>/dev/null");
    if (!head.empty()) {
      // results/ is output, not source: a sweep that writes there must not mark its own records dirty.
      const std::string dirty =
          shell_line(git + "status --porcelain --untracked-files=no -- . ':!results' 2>/dev/null | head -1");
      return head + (dirty.empty() ? "" : "-dirty");
    }
  }
  return ATTNBENCH_BUILD_COMMIT;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

const MachineInfo& machine_info() {
  static const MachineInfo info = [] {
    MachineInfo m;
    m.cpu = cpu_model();
    m.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    m.compiler = ATTNBENCH_COMPILER;
    m.flags = ATTNBENCH_FLAGS;
    m.commit = source_commit();
    m.date = utc_now();
    m.blas = blas_description();
    m.mhz = cpu_mhz();
    m.caches = cpu_caches();
    m.load_avg = load_average();
    m.omp_proc_bind = env_or_empty("OMP_PROC_BIND");
    m.omp_places = env_or_empty("OMP_PLACES");
    m.affinity = affinity_list();
    m.affinity_cpus = affinity_count();
    m.xsimd_version = xsimd_version();
    m.benchmark_version = benchmark_version();
    m.openblas_config = openblas_config();  // after blas_description() loaded it
    return m;
  }();
  return info;
}

std::string machine_json(const MachineInfo& m) {
  JsonObject o;
  o.add("cpu", m.cpu).add("cores", static_cast<long>(m.cores)).add("compiler", m.compiler).add("flags", m.flags);
  o.add("commit", m.commit).add("date", m.date).add("blas", m.blas);
  o.add("mhz", m.mhz);
  std::string caches = "[";
  for (const auto& c : m.caches) {
    JsonObject e;
    e.add("level", static_cast<long>(c.level)).add("type", c.type).add("size_bytes", c.size_bytes);
    e.add("shared_by", static_cast<long>(c.shared_by));
    caches += (caches.size() > 1 ? "," : "") + e.str();
  }
  o.add_raw("caches", caches + "]");
  std::string load = "[";
  for (double x : m.load_avg) load += (load.size() > 1 ? "," : "") + json_number(x);
  o.add_raw("load_avg", load + "]");
  JsonObject pinning;
  pinning.add("omp_proc_bind", m.omp_proc_bind).add("omp_places", m.omp_places).add("affinity", m.affinity);
  pinning.add("affinity_cpus", static_cast<long>(m.affinity_cpus));
  o.add_raw("pinning", pinning.str());
  JsonObject versions;
  versions.add("attnbench", attnbench_version()).add("xsimd", m.xsimd_version).add("benchmark", m.benchmark_version);
  versions.add("openblas", m.openblas_config);
  o.add_raw("versions", versions.str());
  return o.str();
}

}  // namespace attn
