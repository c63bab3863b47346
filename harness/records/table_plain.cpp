#include "table_plain.hpp"

#include <cmath>
#include <cstdio>

namespace attn {

namespace {

// -1 marks an absent or null value in CaseRecord.
std::string cell(double x, const char* readable, bool plain_numbers) {
  if (x < 0 || !std::isfinite(x)) return plain_numbers ? "" : "-";
  char buf[40];
  std::snprintf(buf, sizeof buf, plain_numbers ? "%.10g" : readable, x);
  return buf;
}

}  // namespace

Table plain_records_table(const std::vector<CaseRecord>& records, bool plain_numbers) {
  Table t;
  t.title = "Records";
  t.header = {"variant", "shape", "dtype", "pass", "isa", "threads", "time_ms", "gflops", "pct_peak", "rel_err", "status"};
  for (const auto& r : records) {
    const bool ok = !r.skipped;
    std::string status = ok ? "ok" : "skipped";
    if (!ok && !plain_numbers && !r.reason.empty()) status += ": " + r.reason;
    t.rows.push_back({r.variant, shape_label(r), r.dtype, r.pass, r.isa, std::to_string(r.threads),
                      cell(ok ? r.time_ms : -1, "%.4g", plain_numbers), cell(ok ? r.gflops : -1, "%.1f", plain_numbers),
                      cell(ok ? r.pct_peak : -1, "%.1f", plain_numbers), cell(ok ? r.rel_err : -1, "%.1e", plain_numbers),
                      status});
  }
  t.notes = {std::to_string(records.size()) + " records; time_ms = median over repetitions"};
  return t;
}

}  // namespace attn
