// One sweep record (a JSON line of docs/CONTRACT.md): what a sweep knows about one case, and its
// mapping onto the record schema (schema.hpp), the one place field names meet SweepRecord.
#pragma once
#include <optional>
#include <string>

#include "case_grid.hpp"
#include "json_write.hpp"
#include "record_fields.hpp"

namespace attn {

// Everything a sweep knows about one case. Measurements are optional: a skipped case has
// status "skipped", a reason, and none of them.
struct SweepRecord {
  SweepCase c;
  std::string name;             // variant name without options
  std::string status = "ok";    // "ok" or "skipped"
  std::string reason;           // why skipped
  std::string impl;             // the implementation that ran (Plan::impl())
  std::optional<double> plan_ms;     // building the plan, apart from time_ms
  std::optional<double> convert_ms;  // storing the inputs in the case dtype, before timing; written when set
  std::optional<double> time_ms, time_ms_min, time_ms_mean, cv;
  std::optional<double> select_ms, select_share;  // data-dependent plans only; written when set
  long repetitions = 0, iterations = 0;
  std::optional<double> flops, gflops, tokens_per_s, peak_gflops, pct_peak;
  std::optional<double> tokens;  // query tokens of one call; written with --lens only
  std::optional<double> bytes, gbytes_per_s, bandwidth_gbs, pct_bandwidth;
  std::optional<double> density, workspace_bytes;
  std::string err_rows;         // "all" or "sample:K"
  // Against the variant's float64 reference (and approx_err against exact dense attention).
  std::optional<double> max_abs_err, rel_err, approx_err, cos_sim, rel_l1, rmse;
  // Backward passes (pass bwd or fwdbwd): written for those records only, null until measured.
  std::optional<double> rel_err_dq, rel_err_dk, rel_err_dv;
  std::string grad_groups;  // (batch, kv head) groups they use: "all", "sample:K" or "none"
  std::optional<double> mass_recall, mass_recall_min;
  std::string note;             // why a value is null
  std::string machine_json = "{}";
};

// The record's schema fields (throws std::logic_error if the mapping leaves the schema).
RecordFields record_fields(const SweepRecord& r);
// The JSON line (no trailing newline).
std::string record_json(const SweepRecord& r);

}  // namespace attn
