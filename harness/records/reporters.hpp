// Renders sweep records as they complete: an aligned console table, Markdown, CSV, a JSON
// array, or a LaTeX tabular. Each reporter streams: begin(), one row() per record, end().
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "record.hpp"

namespace attn {

// A measured case whose repetitions vary more than this (cv) is marked noisy: `*` in the
// console table, counted in the sweep's summary line.
constexpr double kNoisyCv = 0.05;

class Reporter {
 public:
  virtual ~Reporter() = default;
  // The cases about to run, before begin(): text tables add a column for each parameter
  // (Hkv, dtype, pass, inputs, lens) that varies or is not the default in this run.
  virtual void plan(const std::vector<SweepCase>& cases) { (void)cases; }
  virtual void begin() {}
  virtual void row(const SweepRecord& r) = 0;
  virtual void end() {}
};

// "table", "md", "csv", "json" or "latex"; throws UserError on anything else.
std::unique_ptr<Reporter> make_reporter(const std::string& format, std::FILE* out);

}  // namespace attn
