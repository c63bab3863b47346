// The flash preset: FlashAttention (Dao et al. 2022) runtime vs N. FlashAttention's tables report
// the forward, the backward and forward + backward; here they share one table per setting, rows
// grouped by pass (fwd, bwd, fwd+bwd), then a table of dense's speed-up over every other variant
// (the unfused baselines dense_blas and naive) in the same pass and N.
#include <algorithm>

#include "table_grid.hpp"

namespace attn {

namespace {

const char* pass_label(const std::string& pass) { return pass == "fwdbwd" ? "fwd+bwd" : pass.c_str(); }

// Passes in the order the papers print them; an unknown one after them, by name.
int pass_rank(const std::string& pass) {
  if (pass == "fwd") return 0;
  if (pass == "bwd") return 1;
  if (pass == "fwdbwd") return 2;
  return 3;
}

// The grids of one setting that differ only in the pass, with the union of their rows and columns.
struct PassGroup {
  std::vector<const Grid*> grids;  // by pass
  std::vector<std::string> variants;
  std::vector<Column> columns;
};

PassGroup pass_group(std::vector<const Grid*> grids) {
  std::stable_sort(grids.begin(), grids.end(), [](const Grid* a, const Grid* b) {
    return std::make_pair(pass_rank(a->setting.pass), a->setting.pass) < std::make_pair(pass_rank(b->setting.pass), b->setting.pass);
  });
  PassGroup p{grids, {}, {}};
  for (const Grid* g : grids) {
    for (const auto& v : g->variants)
      if (std::find(p.variants.begin(), p.variants.end(), v) == p.variants.end()) p.variants.push_back(v);
    for (const auto& c : g->columns)
      if (std::find(p.columns.begin(), p.columns.end(), c) == p.columns.end()) p.columns.push_back(c);
  }
  std::stable_partition(p.variants.begin(), p.variants.end(), [](const std::string& v) { return v == "dense"; });
  std::sort(p.columns.begin(), p.columns.end(),
            [](const Column& a, const Column& b) { return std::tie(a.second, a.first) < std::tie(b.second, b.first); });
  return p;
}

void add_group_tables(const PassGroup& p, PresetOutput& out) {
  Setting s = p.grids.front()->setting;
  s.pass = "fwd";  // the title names no pass: the rows do
  const bool several_passes = p.grids.size() > 1 || p.grids.front()->setting.pass != "fwd";
  std::vector<std::string> header{"variant"};
  if (several_passes) header.push_back("pass");
  for (const auto& c : p.columns) header.push_back(column_label(c));

  Table runtime{"Runtime (ms, median) vs sequence length, " + s.describe(), {}, header, {}};
  Table speedup{"Speed-up of dense (variant time / dense time, same pass and N), " + s.describe(), {}, header, {}};
  for (const Grid* g : p.grids)
    for (const auto& v : p.variants) {
      // A variant with no record at all in this pass still gets its row (dashes), and a warning;
      // so does an N no variant of this pass has (group_into_grids saw neither).
      const bool has_variant = std::find(g->variants.begin(), g->variants.end(), v) != g->variants.end();
      if (!has_variant) out.problems.push_back("missing: " + v + " at every N (" + g->setting.describe() + ")");
      for (const auto& c : p.columns)
        if (has_variant && std::find(g->columns.begin(), g->columns.end(), c) == g->columns.end())
          out.problems.push_back("missing: " + v + " at N=" + column_label(c) + " (" + g->setting.describe() + ")");
      std::vector<std::string> row{v};
      if (several_passes) row.push_back(pass_label(g->setting.pass));
      std::vector<std::string> ratio_row = row;
      for (const auto& c : p.columns) {
        const CaseRecord* r = g->at(v, c);
        row.push_back(!r ? kDash : r->skipped ? skipped_cell(*r) : format_ms(r->time_ms));
        ratio_row.push_back(relative_cell(*g, v, c, [](const CaseRecord& d, const CaseRecord& x) {
          return printf_string("%.2fx", x.time_ms / d.time_ms);
        }));
      }
      runtime.rows.push_back(row);
      if (v != "dense") speedup.rows.push_back(ratio_row);
    }
  runtime.notes = {"time = median over repetitions (time_ms); " + sources_note(p.grids),
                   "OOM = skipped for lack of memory; " + std::string(kDash) +
                       " = skipped for another reason (e.g. over --max-case-time) or no record"};
  if (several_passes)
    runtime.notes.push_back("bwd = dQ, dK, dV given O, the log-sum-exp and dO; fwd+bwd = both, one call each "
                            "(FLOPs 2.5x and 3.5x the forward's)");
  out.tables.push_back(std::move(runtime));
  const bool has_dense = std::find(p.variants.begin(), p.variants.end(), "dense") != p.variants.end();
  if (!has_dense || speedup.rows.empty()) return;
  speedup.notes = {"how many times longer each variant takes than dense in the same pass and N; " + std::string(kDash) +
                   " = either side skipped or missing"};
  out.tables.push_back(std::move(speedup));
}

}  // namespace

void add_flash_tables(const std::vector<Grid>& grids, PresetOutput& out) {
  out.flat.header = flat_header_start();
  out.flat.header.insert(out.flat.header.end(), {"time_ms", "time_vs_dense"});
  for (const auto& members : group_grids_by(grids, [](Setting& s) { s.pass.clear(); })) {
    const PassGroup p = pass_group(members);
    add_group_tables(p, out);
    // One flat row per (pass, variant, N) of the table, "missing" where it prints a dash for no record.
    for (const Grid* g : p.grids)
      for (const auto& v : p.variants)
        for (const auto& c : p.columns) {
          const CaseRecord* r = g->measured(v, c);
          const CaseRecord* d = g->measured("dense", c);
          std::vector<std::string> row = flat_row_start(g->setting, v, c, g->at(v, c));
          row.push_back(flat_number(r, r ? r->time_ms : 0));
          row.push_back(flat_number(r && d, r && d ? r->time_ms / d->time_ms : 0));
          out.flat.rows.push_back(std::move(row));
        }
  }
}

}  // namespace attn
