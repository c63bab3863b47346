// Reading sweep output in tests: the JSONL lines and single fields of a record, without a JSON
// library (the records are flat apart from `machine`, and these helpers look up top-level keys).
#pragma once
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace attn::test {

// Timing options that keep a test sweep fast: the numbers are checked for sanity, not speed.
inline const char* kFastTiming = " --min-time 0.001 --warmup 0 --repetitions 2";

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline bool has_field(const std::string& line, const std::string& key) {
  return line.find("\"" + key + "\": ") != std::string::npos;
}

// The field's text: a string without its quotes, or a number/true/false/null as written.
inline std::string raw_field(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\": ";
  const auto at = line.find(needle);
  if (at == std::string::npos) return "";
  const auto start = at + needle.size();
  if (line[start] == '"') return line.substr(start + 1, line.find('"', start + 1) - start - 1);
  return line.substr(start, line.find_first_of(",}", start) - start);
}

inline double num_field(const std::string& line, const std::string& key) {
  const std::string raw = raw_field(line, key);
  REQUIRE_MESSAGE(!raw.empty(), key, " missing in ", line);
  REQUIRE_MESSAGE(raw != "null", key, " is null in ", line);
  return std::strtod(raw.c_str(), nullptr);
}

}  // namespace attn::test
