// Renders sweep records as they complete: an aligned console table, Markdown, CSV, a JSON
// array, or a LaTeX tabular. Each reporter streams: begin(), one row() per record, end().
#pragma once
#include <cstdio>
#include <memory>
#include <string>

#include "record.hpp"

namespace attn {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void begin() {}
  virtual void row(const SweepRecord& r) = 0;
  virtual void end() {}
};

// "table", "md", "csv", "json" or "latex"; throws UserError on anything else.
std::unique_ptr<Reporter> make_reporter(const std::string& format, std::FILE* out);

}  // namespace attn
