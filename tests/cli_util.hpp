// Running the attnbench binary from tests: exit status and everything it printed.
#pragma once
#include <unistd.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "npy.hpp"

namespace attn::test {

struct CommandResult {
  int exit_code = -1;   // -1 if the process was killed by a signal
  std::string output;   // stdout and stderr together
  int lines() const {
    int n = 0;
    for (char c : output) n += c == '\n';
    return n;
  }
};

// `with_stderr` false: stdout alone (e.g. a CSV to parse), stderr discarded.
inline CommandResult run_attnbench(const std::string& args, bool with_stderr = true) {
  CommandResult r;
  const std::string cmd = std::string(ATTNBENCH_BIN) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Per-process names, so that test runs in several checkouts at once do not collide.
inline std::string temp_path(const std::string& name) {
  return "/tmp/attnbench_test_" + std::to_string(getpid()) + "_" + name;
}

inline std::string write_tensor(const std::string& name, const std::vector<long>& shape, float fill = 0.25f) {
  long n = 1;
  for (long d : shape) n *= d;
  std::vector<float> data(n);
  for (long i = 0; i < n; ++i) data[i] = fill * static_cast<float>((i * 7919) % 13) - 1.0f;
  const std::string path = temp_path(name);
  write_npy(path, shape, data.data());
  return path;
}

}  // namespace attn::test
