#include "machine_probe.hpp"

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#if __has_include(<xsimd/config/xsimd_config.hpp>)
#include <xsimd/config/xsimd_config.hpp>
#endif

#ifndef ATTNBENCH_BENCHMARK_VERSION
#define ATTNBENCH_BENCHMARK_VERSION ""
#endif

namespace attn {

namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// sysfs sizes read "48K", "2048K", "32M".
long parse_size(const std::string& text) {
  char* end = nullptr;
  const long n = std::strtol(text.c_str(), &end, 10);
  if (end && (*end == 'K' || *end == 'k')) return n * 1024;
  if (end && (*end == 'M' || *end == 'm')) return n * 1024 * 1024;
  return n;
}

// "0-3,8" -> 5
int count_cpus(const std::string& list) {
  int n = 0;
  std::stringstream in(list);
  std::string part;
  while (std::getline(in, part, ',')) {
    const auto dash = part.find('-');
    n += dash == std::string::npos ? 1 : std::atoi(part.c_str() + dash + 1) - std::atoi(part.c_str()) + 1;
  }
  return n;
}

}  // namespace

double cpu_mhz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("cpu MHz", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return std::atof(line.c_str() + colon + 1);
    }
  return 0;
}

std::vector<CacheInfo> cpu_caches() {
  std::vector<CacheInfo> caches;
  for (int i = 0; i < 16; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string size = first_line(dir + "size");
    if (size.empty()) break;
    CacheInfo c;
    c.level = std::atoi(first_line(dir + "level").c_str());
    c.type = first_line(dir + "type");
    c.size_bytes = parse_size(size);
    c.shared_by = count_cpus(first_line(dir + "shared_cpu_list"));
    caches.push_back(c);
  }
  return caches;
}

std::vector<double> load_average() {
  std::istringstream in(first_line("/proc/loadavg"));
  std::vector<double> v(3);
  if (!(in >> v[0] >> v[1] >> v[2])) return {};
  return v;
}

std::string affinity_list() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "";
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    out += (out.empty() ? "" : ",") + std::to_string(cpu) + (last > cpu ? "-" + std::to_string(last) : "");
    cpu = last;
  }
  return out;
}

int affinity_count() { return count_cpus(affinity_list()); }

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string xsimd_version() {
#ifdef XSIMD_VERSION_MAJOR
  return std::to_string(XSIMD_VERSION_MAJOR) + "." + std::to_string(XSIMD_VERSION_MINOR) + "." +
         std::to_string(XSIMD_VERSION_PATCH);
#else
  return "";
#endif
}

std::string benchmark_version() { return ATTNBENCH_BENCHMARK_VERSION; }

// The library blas_library() loaded (RTLD_NOLOAD: never loads a second copy).
std::string openblas_config() {
  void* lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD);
  if (!lib) return "";
  using Config = char* (*)();
  const auto config = reinterpret_cast<Config>(dlsym(lib, "openblas_get_config"));
  std::string out = config && config() ? config() : "";
  dlclose(lib);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

std::optional<Isa> blas_core_isa(const std::string& core) {
  std::string c = core;
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::tolower(ch); });
  for (const char* name : {"skylakex", "cooperlake", "sapphirerapids"})
    if (c == name) return Isa::avx512;
  for (const char* name : {"haswell", "zen", "excavator", "skylake"})
    if (c == name) return Isa::avx2;
  // AVX without FMA and older families: nothing wider than our sse2 level.
  for (const char* name : {"sandybridge", "bulldozer", "piledriver", "steamroller", "nehalem", "penryn", "core2",
                           "prescott", "atom", "barcelona", "opteron", "katmai", "dunnington"})
    if (c == name) return Isa::sse2;
  return std::nullopt;
}

std::string blas_width_warning(const std::string& blas, Isa widest_asked) {
  const std::string prefix = "OpenBLAS ";
  if (blas.rfind(prefix, 0) != 0) return "";
  const std::string core = blas.substr(prefix.size());
  const auto isa = blas_core_isa(core);
  // BLAS is float32: the float32 kernels of avx512bf16 and amx are avx512's.
  if (!isa || *isa >= std::min(widest_asked, Isa::avx512)) return "";
  return "dense_blas runs OpenBLAS's " + core + " kernels (" + isa_name(*isa) + "), narrower than --isa " +
         isa_name(widest_asked) + ": the BLAS baseline is slower than a BLAS built for this ISA would be "
         "(set OPENBLAS_CORETYPE, or use a newer OpenBLAS)";
}

}  // namespace attn
