// The sweep record schema, written once: every field a JSON line may carry, its type, whether
// every record carries it, and what it means. The JSONL writer, the CSV reporter, the table
// reader, --resume, `attnbench schema` and scripts/plot.py all take the field names from here.
#pragma once
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

namespace attn {

// Bumped when a field changes meaning or type, not when an optional field is added.
// Version 1 records (before schema_version existed) are still read.
constexpr int kSchemaVersion = 2;

enum class FieldType { String, Int, Number, Bool, Object };

struct Field {
  std::string_view name;
  FieldType type;
  bool required;  // every record carries it (SPEC's list, plus status); else only where it applies
  bool measured;  // a measurement: only records with status "ok" carry it
  std::string_view meaning;
};

// In the order records are written (and CSV columns appear). Number fields may be null when
// undefined (e.g. an error over an all-zero reference); the record's `note` then says why.
inline constexpr Field kRecordSchema[] = {
    {"schema_version", FieldType::Int, true, false, "layout version of this record (records without it are version 1)"},
    {"case_id", FieldType::String, true, false, "16 hex digits hashed from `case`: the same case has the same id in every run and shard"},
    {"case", FieldType::String, false, false, "the canonical parameter string the case_id hashes"},
    {"status", FieldType::String, true, false, "ok (measured) or skipped (see reason; no measurements)"},
    {"reason", FieldType::String, false, false, "why a case was skipped (unsupported, memory, --max-case-time)"},
    {"variant", FieldType::String, true, false, "the full variant spec, options completed with defaults and sorted"},
    {"name", FieldType::String, true, false, "the variant's name without options"},
    {"batch", FieldType::Int, true, false, "B"},
    {"heads", FieldType::Int, true, false, "H, query heads"},
    {"kv_heads", FieldType::Int, true, false, "Hkv, key/value heads (GQA/MQA when below H)"},
    {"seq_q", FieldType::Int, true, false, "Nq, query rows"},
    {"seq_kv", FieldType::Int, true, false, "Nk, keys"},
    {"head_dim", FieldType::Int, true, false, "D"},
    {"causal", FieldType::Bool, true, false, "causal mask (bottom-right aligned)"},
    {"threads", FieldType::Int, true, false, "OpenMP threads"},
    {"isa", FieldType::String, true, false, "ISA the case runs at (amx, avx512bf16, avx512, avx2, sse2, scalar), or any for variants that ignore it"},
    {"dtype", FieldType::String, true, false, "storage type of Q, K, V: f32, bf16, f16 or int8"},
    {"pass", FieldType::String, true, false, "fwd, bwd or fwdbwd"},
    {"inputs", FieldType::String, false, false, "how Q, K, V were drawn: gaussian or local"},
    {"lens", FieldType::String, false, false, "--lens as given (variable-length batch); absent for full-length batches"},
    {"impl", FieldType::String, true, true, "the implementation that ran, e.g. f32-flash-6x4v-avx512"},
    {"plan_ms", FieldType::Number, true, true, "building the variant's plan (masks, block plans, layouts, random features), apart from time_ms"},
    {"convert_ms", FieldType::Number, false, true, "converting inputs a model already holds in dtype, before timing"},
    {"time_ms", FieldType::Number, true, true, "median time of one call over the repetitions"},
    {"time_ms_min", FieldType::Number, true, true, "fastest repetition"},
    {"time_ms_mean", FieldType::Number, false, true, "mean repetition"},
    {"cv", FieldType::Number, true, true, "coefficient of variation of the repetition times"},
    {"repetitions", FieldType::Int, true, true, "timed repetitions"},
    {"iterations", FieldType::Int, false, true, "calls per repetition"},
    {"flops", FieldType::Number, true, true, "useful FLOPs of one call (bwd 2.5x, fwdbwd 3.5x the forward)"},
    {"gflops", FieldType::Number, true, true, "flops / time_ms, in GFLOP/s"},
    {"tokens_per_s", FieldType::Number, true, true, "query tokens (not counting padding past lens) per second"},
    {"tokens", FieldType::Number, false, true, "query tokens of one call, with --lens"},
    {"peak_gflops", FieldType::Number, true, true, "FMA peak measured for the same threads and ISA (attnbench peak)"},
    {"pct_peak", FieldType::Number, true, true, "100 gflops / peak_gflops"},
    {"bytes", FieldType::Number, true, true, "least bytes the computation moves: Q, K, V, O (bwd: dO, dQ, dK, dV too) in their stored dtype"},
    {"gbytes_per_s", FieldType::Number, true, true, "bytes / time_ms, in GB/s"},
    {"bandwidth_gbs", FieldType::Number, true, true, "read bandwidth measured for the same threads (attnbench peak --bandwidth)"},
    {"pct_bandwidth", FieldType::Number, true, true, "100 gbytes_per_s / bandwidth_gbs"},
    {"density", FieldType::Number, true, true, "visible (query, key) pairs over Nq x Nk (over the real pairs with --lens)"},
    {"workspace_bytes", FieldType::Number, true, true, "memory the plan and the call use beyond Q, K, V and O"},
    {"err_rows", FieldType::String, false, true, "query rows the errors use: all, or sample:K seeded rows"},
    {"max_abs_err", FieldType::Number, true, true, "max|O - O_ref| against the variant's float64 reference"},
    {"rel_err", FieldType::Number, true, true, "max_abs_err / max|O_ref| (bwd: the largest of rel_err_dq, rel_err_dk, rel_err_dv)"},
    {"approx_err", FieldType::Number, true, true, "||O - O_dense||_F / ||O_dense||_F against exact dense attention (0 for exact variants)"},
    {"cos_sim", FieldType::Number, true, true, "cosine similarity of O and O_ref"},
    {"rel_l1", FieldType::Number, true, true, "sum|O - O_ref| / sum|O_ref|"},
    {"rmse", FieldType::Number, true, true, "sqrt(mean (O - O_ref)^2)"},
    {"rel_err_dq", FieldType::Number, false, true, "bwd: max|dQ - dQ_ref| / max|dQ_ref|"},
    {"rel_err_dk", FieldType::Number, false, true, "bwd: max|dK - dK_ref| / max|dK_ref|"},
    {"rel_err_dv", FieldType::Number, false, true, "bwd: max|dV - dV_ref| / max|dV_ref|"},
    {"grad_groups", FieldType::String, false, true, "bwd: (batch, kv head) groups the gradient errors use: all, sample:K seeded, or none (too costly)"},
    {"mass_recall", FieldType::Number, false, true, "share of exact softmax mass on the keys the variant visits, mean over the error rows"},
    {"mass_recall_min", FieldType::Number, false, true, "the same, least row"},
    {"note", FieldType::String, false, false, "why a number is null"},
    {"machine", FieldType::Object, true, false, "cpu, cores, compiler, flags, commit, date, blas; mhz, caches, load_avg, pinning, versions"},
};

// Index of `name` in kRecordSchema, or -1.
constexpr int schema_index(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kRecordSchema)); ++i)
    if (kRecordSchema[i].name == name) return i;
  return -1;
}

// The field `name`; where code names a field, `schema_field("x").name` in a constant
// expression makes a misspelt name a compile error (the throw cannot be evaluated).
constexpr const Field& schema_field(std::string_view name) {
  const int i = schema_index(name);
  return i >= 0 ? kRecordSchema[i] : throw std::logic_error("not a record schema field");
}

// "string", "int", "number", "bool", "object".
const char* field_type_name(FieldType type);

// `attnbench schema`: a Markdown table, or {"schema_version": 2, "fields": [...]} on one line.
std::string schema_markdown();
std::string schema_json();

}  // namespace attn
