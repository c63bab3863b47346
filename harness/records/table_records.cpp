#include "table_records.hpp"

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "errors.hpp"
#include "input_file.hpp"
#include "record_check.hpp"
#include "schema.hpp"
#include "table_presets.hpp"  // seq_label

namespace attn {

namespace {

std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

std::string where(const json::Line& line) { return line.file + ":" + std::to_string(line.line); }

const json::Value& field(const json::Line& line, const std::string& key) {
  const json::Value* v = line.value.find(key);
  if (!v) throw UserError(where(line) + ": record has no \"" + key + "\" field");
  return *v;
}

std::string string_field(const json::Line& line, const std::string& key) {
  const json::Value& v = field(line, key);
  if (!v.is_string()) throw UserError(where(line) + ": \"" + key + "\" must be a string");
  return v.string;
}

long count_field(const json::Line& line, const std::string& key) {
  const json::Value& v = field(line, key);
  if (!v.is_number() || v.number < 0 || v.number > 1e15 || v.number != std::floor(v.number))
    throw UserError(where(line) + ": \"" + key + "\" must be a non-negative integer");
  return static_cast<long>(v.number);
}

double number_field(const json::Line& line, const std::string& key) {
  const json::Value& v = field(line, key);
  if (!v.is_number() || !std::isfinite(v.number) || v.number < 0)
    throw UserError(where(line) + ": \"" + key + "\" must be a non-negative number");
  return v.number;
}

bool flag_field(const json::Line& line, const std::string& key) {
  const json::Value& v = field(line, key);
  if (v.kind == json::Value::Kind::Bool) return v.boolean;
  if (v.is_number() && (v.number == 0 || v.number == 1)) return v.number == 1;
  throw UserError(where(line) + ": \"" + key + "\" must be true/false or 0/1");
}

// The fields a table reads: a name that leaves the schema stops the build.
constexpr std::string_view kReads[] = {"case_id", "variant", "name", "batch", "heads", "kv_heads", "seq_q", "seq_kv",
                                       "head_dim", "causal", "threads", "isa", "status", "reason", "time_ms",
                                       "workspace_bytes", "tokens_per_s", "pct_bandwidth", "dtype", "pass", "inputs", "lens",
                                       "time_ms_min", "cv", "repetitions", "gflops", "pct_peak", "rel_err",
                                       "impl", "cos_sim", "rel_l1", "rmse", "density", "approx_err", "mass_recall",
                                       "mass_recall_min"};
constexpr bool all_in_schema() {
  for (std::string_view name : kReads)
    if (schema_index(name) < 0) return false;
  return true;
}
static_assert(all_in_schema(), "table_records.cpp reads a field the record schema lacks");

}  // namespace

std::string shape_label(const CaseRecord& r) {
  std::string s = "B" + std::to_string(r.batch) + " H" + std::to_string(r.heads);
  if (r.kv_heads != r.heads) s += " Hkv" + std::to_string(r.kv_heads);
  s += r.seq_q == r.seq_kv ? " N" + seq_label(r.seq_q) : " Nq" + seq_label(r.seq_q) + " Nk" + seq_label(r.seq_kv);
  s += " D" + std::to_string(r.head_dim);
  if (r.causal) s += " causal";
  if (r.inputs != "gaussian") s += " " + r.inputs;
  if (!r.lens.empty()) s += " lens=" + r.lens;
  return s;
}

CaseRecord case_record_from_json(const json::Line& line) {
  CaseRecord r;
  r.source = where(line);
  // Types and (from schema version 2) required fields come from the schema; the checks below
  // add what a table needs of the values, and keep version 1 records readable.
  check_record(line.value, r.source);
  r.case_id = string_field(line, "case_id");
  r.variant = string_field(line, "variant");
  r.name = line.value.find("name") ? string_field(line, "name") : r.variant.substr(0, r.variant.find(':'));
  r.batch = count_field(line, "batch");
  r.heads = count_field(line, "heads");
  r.kv_heads = line.value.find("kv_heads") ? count_field(line, "kv_heads") : r.heads;
  r.seq_q = count_field(line, "seq_q");
  r.seq_kv = count_field(line, "seq_kv");
  r.head_dim = count_field(line, "head_dim");
  r.causal = flag_field(line, "causal");
  r.threads = count_field(line, "threads");
  r.isa = string_field(line, "isa");
  for (auto [key, slot] : {std::pair<const char*, std::string*>{"dtype", &r.dtype}, {"pass", &r.pass},
                           {"inputs", &r.inputs}, {"lens", &r.lens}})
    if (line.value.find(key)) *slot = string_field(line, key);
  if (const json::Value* status = line.value.find("status")) {
    if (!status->is_string()) throw UserError(r.source + ": \"status\" must be a string");
    r.skipped = status->string != "ok";
    if (const json::Value* reason = line.value.find("reason"); reason && reason->is_string()) r.reason = reason->string;
  }
  if (!r.skipped) {
    r.time_ms = number_field(line, "time_ms");
    // A subnormal time (5e-324) is no measurement, and dividing by it overflows to inf.
    if (!std::isnormal(r.time_ms) || r.time_ms <= 0)
      throw UserError(r.source + ": \"time_ms\" must be a positive normal number (got " + number_text(r.time_ms) + ")");
    r.workspace_bytes = number_field(line, "workspace_bytes");
    for (auto [key, slot] : {std::pair<const char*, double*>{"tokens_per_s", &r.tokens_per_s},
                             {"pct_bandwidth", &r.pct_bandwidth}, {"time_ms_min", &r.time_ms_min}, {"cv", &r.cv},
                             {"gflops", &r.gflops}, {"pct_peak", &r.pct_peak}, {"rel_err", &r.rel_err},
                             {"density", &r.density}, {"approx_err", &r.approx_err}, {"mass_recall", &r.mass_recall},
                             {"mass_recall_min", &r.mass_recall_min}, {"select_ms", &r.select_ms},
                             {"select_share", &r.select_share}})
      if (const json::Value* v = line.value.find(key); v && v->is_number()) *slot = number_field(line, key);
    if (const json::Value* v = line.value.find("repetitions"); v && v->is_number()) r.repetitions = count_field(line, "repetitions");
    for (auto [key, slot] : {std::pair<const char*, double*>{"rel_l1", &r.rel_l1}, {"rmse", &r.rmse}})
      if (const json::Value* v = line.value.find(key); v && v->is_number()) *slot = number_field(line, key);
    if (const json::Value* v = line.value.find("cos_sim"); v && v->is_number()) {
      if (!(v->number >= -1 && v->number <= 1)) throw UserError(r.source + ": \"cos_sim\" must be a number in [-1, 1]");
      r.cos_sim = v->number;
    }
    if (const json::Value* v = line.value.find("impl"); v && v->is_string()) r.impl = v->string;
  }
  return r;
}

std::vector<CaseRecord> read_case_records(const std::vector<std::string>& paths, std::vector<std::string>& problems) {
  std::vector<CaseRecord> out;
  for (const auto& path : paths) {
    std::string partial;
    for (const auto& line : json::read_jsonl(path, &partial)) out.push_back(case_record_from_json(line));
    if (!partial.empty()) problems.push_back(partial);
  }
  return out;
}

std::vector<std::string> drop_duplicate_cases(std::vector<CaseRecord>& records) {
  std::map<std::string, std::vector<std::string>> sources;
  std::vector<std::string> order;
  std::vector<CaseRecord> kept;
  for (auto& r : records) {
    auto& s = sources[r.case_id];
    if (s.empty()) {
      order.push_back(r.case_id);
      kept.push_back(r);
    }
    s.push_back(r.source);
  }
  std::vector<std::string> problems;
  for (const auto& id : order) {
    const auto& s = sources[id];
    if (s.size() < 2) continue;
    std::string line = "case_id " + id + " appears " + std::to_string(s.size()) + " times (";
    for (std::size_t i = 0; i < s.size(); ++i) line += (i ? ", " : "") + s[i];
    problems.push_back(line + "); using the first");
  }
  records = std::move(kept);
  return problems;
}

std::vector<ExpectedCase> read_expected_cases(const std::string& path) {
  std::istringstream in(read_file_capped(path, kMaxJsonlBytes, "--expect file"));
  std::vector<ExpectedCase> ids;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    if (line[first] == '{') {
      auto parsed = json::parse_jsonl(line, path);
      const json::Value* id = parsed.at(0).value.find("case_id");
      if (!id || !id->is_string()) throw UserError(path + ":" + std::to_string(number) + ": no \"case_id\" string");
      const json::Value* description = parsed.at(0).value.find("case");
      ids.push_back({id->string, description && description->is_string() ? description->string : ""});
    } else {
      const auto id_end = std::min(line.find_first_of(" \t\r", first), line.size());
      const auto rest = line.find_first_not_of(" \t\r", id_end);
      const auto last = line.find_last_not_of(" \t\r");
      ids.push_back({line.substr(first, id_end - first), rest == std::string::npos ? "" : line.substr(rest, last - rest + 1)});
    }
  }
  return ids;
}

std::vector<std::string> compare_with_expected(const std::vector<CaseRecord>& records,
                                               const std::vector<ExpectedCase>& expected) {
  std::set<std::string> have, want;
  for (const auto& e : expected) want.insert(e.case_id);
  for (const auto& r : records) have.insert(r.case_id);
  std::vector<std::string> problems;
  for (const auto& e : expected)
    if (!have.count(e.case_id))
      problems.push_back("missing case " + e.case_id + (e.description.empty() ? "" : " " + e.description) + " (expected, no record)");
  for (const auto& r : records)
    if (!want.count(r.case_id)) problems.push_back("unexpected case " + r.case_id + " (" + r.source + ", not in the expected list)");
  return problems;
}

}  // namespace attn
