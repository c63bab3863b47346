#include "record.hpp"

namespace attn {

RecordFields record_fields(const SweepRecord& r) {
  const SweepCase& c = r.c;
  RecordFields f;
  f.set_int("schema_version", kSchemaVersion).set_string("case_id", c.case_id()).set_string("case", c.canonical());
  f.set_string("status", r.status);
  if (!r.reason.empty()) f.set_string("reason", r.reason);
  f.set_string("variant", c.variant).set_string("name", r.name);
  f.set_int("batch", c.batch).set_int("heads", c.heads).set_int("kv_heads", c.kv_heads);
  f.set_int("seq_q", c.seq_q).set_int("seq_kv", c.seq_kv).set_int("head_dim", c.head_dim);
  f.set_bool("causal", c.causal).set_int("threads", c.threads).set_string("isa", c.isa_label());
  f.set_string("dtype", c.param("dtype", "f32")).set_string("pass", c.param("pass", "fwd"));
  f.set_string("inputs", c.param("inputs", "gaussian"));
  // Further case parameters (lens) by their own names: a new one must join the schema first.
  for (const auto& [key, value] : c.extra)
    if (!f.has(key)) f.set_string(key, value);
  if (r.status == "ok") {
    f.set_string("impl", r.impl).set_number("plan_ms", r.plan_ms);
    if (r.convert_ms) f.set_number("convert_ms", r.convert_ms);
    f.set_number("time_ms", r.time_ms).set_number("time_ms_min", r.time_ms_min);
    if (r.select_ms) f.set_number("select_ms", r.select_ms).set_number("select_share", r.select_share);
    f.set_number("time_ms_mean", r.time_ms_mean);
    f.set_number("cv", r.cv).set_int("repetitions", r.repetitions).set_int("iterations", r.iterations);
    f.set_number("flops", r.flops).set_number("gflops", r.gflops).set_number("tokens_per_s", r.tokens_per_s);
    if (r.tokens) f.set_number("tokens", r.tokens);
    f.set_number("peak_gflops", r.peak_gflops).set_number("pct_peak", r.pct_peak);
    f.set_number("bytes", r.bytes).set_number("gbytes_per_s", r.gbytes_per_s);
    f.set_number("bandwidth_gbs", r.bandwidth_gbs).set_number("pct_bandwidth", r.pct_bandwidth);
    f.set_number("density", r.density).set_number("workspace_bytes", r.workspace_bytes);
    f.set_string("err_rows", r.err_rows);
    f.set_number("max_abs_err", r.max_abs_err).set_number("rel_err", r.rel_err).set_number("approx_err", r.approx_err);
    f.set_number("cos_sim", r.cos_sim).set_number("rel_l1", r.rel_l1).set_number("rmse", r.rmse);
    if (c.param("pass", "fwd") != "fwd")
      f.set_number("rel_err_dq", r.rel_err_dq).set_number("rel_err_dk", r.rel_err_dk).set_number("rel_err_dv", r.rel_err_dv)
          .set_string("grad_groups", r.grad_groups);
    f.set_number("mass_recall", r.mass_recall).set_number("mass_recall_min", r.mass_recall_min);
  }
  if (!r.note.empty()) f.set_string("note", r.note);
  f.set_object("machine", r.machine_json);
  return f;
}

std::string record_json(const SweepRecord& r) { return record_fields(r).json(); }

}  // namespace attn
