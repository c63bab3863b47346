#include "record.hpp"

#include <cmath>
#include <cstdio>

namespace attn {

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::field(const std::string& key, const std::string& json) {
  if (!body_.empty()) body_ += ", ";
  body_ += json_quote(key) + ": " + json;
  return *this;
}

JsonObject& JsonObject::add(const std::string& key, const std::string& value) { return field(key, json_quote(value)); }
JsonObject& JsonObject::add(const std::string& key, long value) { return field(key, std::to_string(value)); }
JsonObject& JsonObject::add(const std::string& key, bool value) { return field(key, value ? "true" : "false"); }
JsonObject& JsonObject::add_null(const std::string& key) { return field(key, "null"); }
JsonObject& JsonObject::add_raw(const std::string& key, const std::string& json) { return field(key, json); }

JsonObject& JsonObject::add(const std::string& key, double value) {
  if (!std::isfinite(value)) return add_null(key);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", value);
  return field(key, buf);
}

JsonObject& JsonObject::add(const std::string& key, const std::optional<double>& value) {
  return value ? add(key, *value) : add_null(key);
}

std::string record_json(const SweepRecord& r) {
  const SweepCase& c = r.c;
  JsonObject o;
  o.add("case_id", c.case_id()).add("case", c.canonical()).add("status", r.status);
  if (!r.reason.empty()) o.add("reason", r.reason);
  o.add("variant", c.variant).add("name", r.name);
  o.add("batch", static_cast<long>(c.batch)).add("heads", static_cast<long>(c.heads));
  o.add("kv_heads", static_cast<long>(c.kv_heads)).add("seq_q", static_cast<long>(c.seq_q));
  o.add("seq_kv", static_cast<long>(c.seq_kv)).add("head_dim", static_cast<long>(c.head_dim));
  o.add("causal", c.causal).add("threads", static_cast<long>(c.threads)).add("isa", c.isa_label());
  o.add("dtype", c.param("dtype", "f32")).add("pass", c.param("pass", "fwd"));
  for (const auto& [key, value] : c.extra)
    if (key != "dtype" && key != "pass") o.add(key, value);
  if (r.status == "ok") {
    o.add("time_ms", r.time_ms).add("time_ms_min", r.time_ms_min).add("time_ms_mean", r.time_ms_mean);
    o.add("cv", r.cv).add("repetitions", r.repetitions).add("iterations", r.iterations);
    o.add("flops", r.flops).add("gflops", r.gflops).add("tokens_per_s", r.tokens_per_s);
    o.add("peak_gflops", r.peak_gflops).add("pct_peak", r.pct_peak).add("density", r.density);
    o.add("workspace_bytes", r.workspace_bytes);
    o.add("max_abs_err", r.max_abs_err).add("rel_err", r.rel_err).add("approx_err", r.approx_err);
    o.add("err_rows", r.err_rows).add("impl", r.impl).add("plan_ms", r.plan_ms);
    // Backward fields (SPEC "Every record also carries": rel_err_dq, rel_err_dk, rel_err_dv).
    if (!r.grad_groups.empty()) o.add("rel_err_dq", r.rel_err_dq);
    if (!r.grad_groups.empty()) o.add("rel_err_dk", r.rel_err_dk);
    if (!r.grad_groups.empty()) o.add("rel_err_dv", r.rel_err_dv);
    if (!r.grad_groups.empty()) o.add("grad_groups", r.grad_groups);
    for (const auto& [key, value] : r.extra) o.add(key, value);
  }
  if (!r.note.empty()) o.add("note", r.note);
  o.add_raw("machine", r.machine_json);
  return o.str();
}

}  // namespace attn
