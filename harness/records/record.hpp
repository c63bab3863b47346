// One sweep record (a JSON line of SPEC.md) and the small JSON writer behind it.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "case_grid.hpp"

namespace attn {

// Builds one JSON object on a single line. Non-finite numbers become null (JSON has no NaN).
class JsonObject {
 public:
  JsonObject& add(const std::string& key, const std::string& value);
  JsonObject& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  JsonObject& add(const std::string& key, double value);
  JsonObject& add(const std::string& key, long value);
  JsonObject& add(const std::string& key, bool value);
  JsonObject& add(const std::string& key, const std::optional<double>& value);
  JsonObject& add_null(const std::string& key);
  JsonObject& add_raw(const std::string& key, const std::string& json);  // a nested value
  std::string str() const { return "{" + body_ + "}"; }

 private:
  JsonObject& field(const std::string& key, const std::string& json);
  std::string body_;
};

std::string json_quote(const std::string& text);

// Everything a sweep knows about one case. Measurements are optional: a skipped case has
// status "skipped", a reason, and none of them.
struct SweepRecord {
  SweepCase c;
  std::string name;             // variant name without options
  std::string status = "ok";    // "ok" or "skipped"
  std::string reason;           // why skipped
  std::optional<double> time_ms, time_ms_min, time_ms_mean, cv;
  long repetitions = 0, iterations = 0;
  std::optional<double> flops, gflops, tokens_per_s, peak_gflops, pct_peak, density;
  std::optional<double> workspace_bytes;
  std::optional<double> max_abs_err, rel_err, approx_err;
  std::string err_rows;         // "all" or "sample:K"
  std::string impl;             // the implementation that ran (Plan::impl())
  std::optional<double> plan_ms;  // building the plan, apart from time_ms
  std::string note;             // why a value is null
  // Backward cases (pass bwd or fwdbwd) only: each gradient's max error over max |float64|,
  // and which (batch, kv head) groups were checked ("all", "sample:K", "none"; empty: forward).
  std::optional<double> rel_err_dq, rel_err_dk, rel_err_dv;
  std::string grad_groups;
  // Further optional numbers (e.g. mass_recall), written in this order after the rest.
  std::vector<std::pair<std::string, std::optional<double>>> extra;
  std::string machine_json = "{}";
};

// The JSON line (no trailing newline).
std::string record_json(const SweepRecord& r);

}  // namespace attn
