#include "table_grid.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace attn {

const char* const kDash = "—";

std::string Setting::describe(bool with_head_dim) const {
  std::string s = "batch=" + std::to_string(batch) + " heads=" + std::to_string(heads) + " kv_heads=" + std::to_string(kv_heads) +
                  (with_head_dim ? " head_dim=" + std::to_string(head_dim) : "") + " causal=" + std::to_string(causal) +
                  " threads=" + std::to_string(threads) + " isa=" + isa;
  if (dtype != "f32") s += " dtype=" + dtype;
  if (pass != "fwd") s += " pass=" + pass;
  if (inputs != "gaussian") s += " inputs=" + inputs;
  if (!lens.empty()) s += " lens=" + lens;
  return s;
}

Setting setting_of(const CaseRecord& r) {
  Setting s;
  s.batch = r.batch, s.heads = r.heads, s.kv_heads = r.kv_heads, s.head_dim = r.head_dim, s.threads = r.threads;
  s.causal = r.causal;
  s.isa = r.isa, s.dtype = r.dtype, s.pass = r.pass, s.inputs = r.inputs, s.lens = r.lens;
  return s;
}

std::string column_label(const Column& c) {
  return c.first == c.second ? seq_label(c.second) : seq_label(c.first) + "x" + seq_label(c.second);
}

const CaseRecord* Grid::at(const std::string& variant, const Column& c) const {
  auto it = cells.find({variant, c});
  return it == cells.end() ? nullptr : it->second;
}

const CaseRecord* Grid::measured(const std::string& variant, const Column& c) const {
  const CaseRecord* r = at(variant, c);
  return r && !r->skipped ? r : nullptr;
}

std::vector<Grid> group_into_grids(const std::vector<CaseRecord>& records, std::vector<std::string>& problems) {
  // Sorted settings and columns; rows in the order the variants first appear in the files (the
  // preset's order for one sweep's output), dense first as the reference row.
  std::map<std::string, std::size_t> first_seen;
  for (const auto& r : records) first_seen.emplace(r.variant, first_seen.size());
  std::map<Setting, Grid> grids;
  auto add = [&](const CaseRecord& r, const Setting& s) {
    auto [it, fresh] = grids.try_emplace(s);
    Grid& g = it->second;
    if (fresh) g.setting = s;
    const Column c{r.seq_q, r.seq_kv};
    if (std::find(g.variants.begin(), g.variants.end(), r.variant) == g.variants.end()) g.variants.push_back(r.variant);
    if (std::find(g.columns.begin(), g.columns.end(), c) == g.columns.end()) g.columns.push_back(c);
    auto [cell, inserted] = g.cells.try_emplace({r.variant, c}, &r);
    if (!inserted) {
      // Same variant and shape but a different case_id (e.g. other --inputs): not comparable.
      problems.push_back("two records for " + r.variant + " at N=" + column_label(c) + " (" + g.setting.describe() +
                         "): " + cell->second->source + " and " + r.source + "; using the first");
      return;
    }
    ++g.records;
    g.files.insert(r.source.substr(0, r.source.rfind(':')));
  };
  for (const auto& r : records)
    if (r.isa != "any") add(r, setting_of(r));
  // Variants that ignore the ISA (naive, dense_blas: isa "any") join every ISA's table of the
  // same setting, or form their own when there is none.
  for (const auto& r : records) {
    if (r.isa != "any") continue;
    std::vector<Setting> matches;
    for (const auto& [s, g] : grids) {
      Setting t = s;
      t.isa = "any";
      if (s.isa != "any" && t == setting_of(r)) matches.push_back(s);
    }
    if (matches.empty()) matches.push_back(setting_of(r));
    for (const Setting& s : matches) add(r, s);
  }
  std::vector<Grid> out;
  for (auto& [s, g] : grids) {
    std::sort(g.variants.begin(), g.variants.end(), [&](const std::string& a, const std::string& b) {
      return std::make_pair(a != "dense", first_seen[a]) < std::make_pair(b != "dense", first_seen[b]);
    });
    std::sort(g.columns.begin(), g.columns.end(),
              [](const Column& a, const Column& b) { return std::tie(a.second, a.first) < std::tie(b.second, b.first); });
    for (const auto& v : g.variants)
      for (const auto& c : g.columns)
        if (!g.at(v, c)) problems.push_back("missing: " + v + " at N=" + column_label(c) + " (" + s.describe() + ")");
    out.push_back(std::move(g));
  }
  return out;
}

std::string printf_string(const char* fmt, double x) {
  if (!std::isfinite(x)) return kDash;
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

std::string format_ms(double ms) {
  if (ms < 10) return printf_string("%.3f", ms);
  if (ms < 1000) return printf_string("%.1f", ms);
  return printf_string("%.0f", ms);
}

std::string skipped_cell(const CaseRecord& r) {
  std::string reason = r.reason;
  std::transform(reason.begin(), reason.end(), reason.begin(), ::tolower);
  // The sweep says "needs 3.2 GiB, limit 2 GiB" or "out of memory".
  const bool oom = reason.find("memory") != std::string::npos || reason.find("oom") != std::string::npos ||
                   (reason.find("needs") != std::string::npos && reason.find("ib") != std::string::npos);
  return oom ? "OOM" : kDash;
}

std::vector<std::string> header_for(const Grid& g, const std::string& corner) {
  std::vector<std::string> h{corner};
  for (const auto& c : g.columns) h.push_back(column_label(c));
  return h;
}

std::string sources_note(const std::vector<const Grid*>& gs) {
  std::set<std::string> files;
  std::size_t records = 0;
  for (const Grid* g : gs) {
    records += g->records;
    files.insert(g->files.begin(), g->files.end());
  }
  std::string names;
  for (const auto& f : files) names += (names.empty() ? "" : ", ") + f;
  return std::to_string(records) + " records from " + names;
}

std::string sources_note(const Grid& g) { return sources_note(std::vector<const Grid*>{&g}); }

std::string flat_number(bool have, double x) {
  if (!have || !std::isfinite(x)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string flat_status(const CaseRecord* r) {
  if (!r) return "missing";
  if (!r->skipped) return "ok";
  return skipped_cell(*r) == "OOM" ? "oom" : "skipped";
}

std::vector<std::string> flat_header_start() {
  return {"batch", "heads", "kv_heads", "head_dim", "causal", "threads", "isa", "dtype", "pass",
          "inputs", "lens", "variant", "seq_q", "seq_kv", "status"};
}

std::vector<std::string> flat_row_start(const Setting& s, const std::string& variant, const Column& c, const CaseRecord* r) {
  return {std::to_string(s.batch), std::to_string(s.heads), std::to_string(s.kv_heads), std::to_string(s.head_dim),
          s.causal ? "1" : "0", std::to_string(s.threads), s.isa, s.dtype, s.pass, s.inputs, s.lens,
          variant, std::to_string(c.first), std::to_string(c.second), flat_status(r)};
}

}  // namespace attn
