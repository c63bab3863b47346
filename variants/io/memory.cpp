#include "memory.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "errors.hpp"

namespace attn {

namespace {
// Value in kB of a "Key:   123 kB" line of a /proc file, or 0.
std::size_t proc_kb(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) {
      std::istringstream ss(line.substr(key.size()));
      std::size_t kb = 0;
      ss >> kb;
      return kb;
    }
  return 0;
}
}  // namespace

std::size_t available_memory_bytes() {
  const std::size_t kb = proc_kb("/proc/meminfo", "MemAvailable:");
  if (kb) return kb * 1024;
  return static_cast<std::size_t>(sysconf(_SC_AVPHYS_PAGES)) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

void require_memory(std::size_t bytes, const std::string& what) {
  const std::size_t avail = available_memory_bytes();
  if (bytes > avail) {
    char msg[256];
    std::snprintf(msg, sizeof msg, "%s needs %.2f GiB but only %.2f GiB is available", what.c_str(),
                  bytes / 1073741824.0, avail / 1073741824.0);
    throw UserError(msg);
  }
}

std::size_t peak_rss_bytes() { return proc_kb("/proc/self/status", "VmHWM:") * 1024; }

}  // namespace attn
