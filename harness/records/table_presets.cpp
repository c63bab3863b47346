#include "table_presets.hpp"

#include <algorithm>

#include "errors.hpp"
#include "lra_paper.hpp"
#include "table_grid.hpp"

namespace attn {

namespace {


// The paper's columns of one LRA table: N = 1k..4k among the grid's columns.
std::vector<std::pair<Column, int>> paper_columns(const Grid& g) {
  std::vector<std::pair<Column, int>> out;
  for (const auto& c : g.columns)
    if (const int k = lra_paper_column(c.first, c.second); k >= 0) out.push_back({c, k});
  return out;
}

std::string accuracy_cell(const Grid& g, const std::string& variant, const Column& c, bool recall) {
  const CaseRecord* r = g.at(variant, c);
  if (!r) return kDash;
  if (r->skipped) return skipped_cell(*r);
  const double x = recall ? r->mass_recall : r->approx_err;
  if (x < 0) return kDash;
  return printf_string(recall ? "%.3f" : "%.2e", x);
}

void add_lra_tables(const Grid& g, PresetOutput& out) {
  const auto paper = paper_columns(g);
  auto header = [&](const std::string& paper_what) {
    std::vector<std::string> h = header_for(g, "variant");
    h.insert(h.begin() + 1, "paper row");
    for (const auto& [c, k] : paper) h.push_back(paper_what + " " + column_label(c));
    return h;
  };
  Table speed{"Speed relative to dense (dense time / variant time), " + g.setting.describe(), {}, header("paper"), {}};
  Table memory{"Workspace relative to dense (variant bytes / dense bytes), " + g.setting.describe(), {}, header("paper"), {}};
  std::vector<std::string> acc_header{"variant"};
  for (const auto& c : g.columns) acc_header.push_back("approx_err " + column_label(c));
  for (const auto& c : g.columns) acc_header.push_back("mass_recall " + column_label(c));
  Table accuracy{"Accuracy against exact dense attention, " + g.setting.describe(), {}, acc_header, {}};
  bool dense_workspace_zero = false;
  const LraPaperRow& transformer = lra_paper_transformer();
  for (const auto& v : g.variants) {
    const LraPaperRow* row = lra_paper_row(v);
    std::vector<std::string> srow{v, row ? row->model : kDash}, mrow = srow, arow{v};
    for (const auto& c : g.columns) {
      srow.push_back(relative_cell(g, v, c, [](const CaseRecord& d, const CaseRecord& r) {
        return printf_string("%.2fx", d.time_ms / r.time_ms);
      }));
      mrow.push_back(relative_cell(g, v, c, [&](const CaseRecord& d, const CaseRecord& r) {
        if (d.workspace_bytes <= 0) {
          dense_workspace_zero = true;
          return printf_string("%.2f MiB", r.workspace_bytes / (1 << 20));
        }
        return printf_string("%.2fx", r.workspace_bytes / d.workspace_bytes);
      }));
    }
    for (const auto& [c, k] : paper) {
      srow.push_back(row ? printf_string("%.1fx", row->speed[k]) : kDash);
      mrow.push_back(row ? printf_string("%.2fx", row->memory_gb[k] / transformer.memory_gb[k]) : kDash);
    }
    for (bool recall : {false, true})
      for (const auto& c : g.columns) arow.push_back(accuracy_cell(g, v, c, recall));
    speed.rows.push_back(srow);
    memory.rows.push_back(mrow);
    accuracy.rows.push_back(arow);
  }
  if (std::find(g.variants.begin(), g.variants.end(), "dense") == g.variants.end())
    out.problems.push_back("lra: no dense records (" + g.setting.describe() + "); every ratio is " + std::string(kDash));
  const std::string paper_note =
      std::string(lra_paper_citation()) +
      (g.setting.pass == "fwd" ? ". The paper times training steps: compare its speed with the pass=fwdbwd table"
                               : "");
  speed.notes = {"time = median over repetitions (time_ms); " + sources_note(g),
                 std::string(kDash) + " = skipped (e.g. over --max-case-time, or a variant without this pass), no record, no dense record for that N, or a ratio too large " +
                     "to print; " +
                     "OOM = skipped for lack of memory",
                 paper_note};
  memory.notes = {"workspace_bytes as recorded by the sweep (attention's extra memory beyond Q, K, V, O); " + sources_note(g),
                  "paper columns: whole-model peak memory ratios, " + std::string(lra_paper_citation())};
  if (dense_workspace_zero) memory.notes.push_back("dense reported 0 workspace bytes: those cells are absolute MiB");
  accuracy.notes = {"approx_err = ||O - O_dense||_F / ||O_dense||_F on the sweep's error rows (0 for exact variants); "
                    "mass_recall = share of exact softmax mass on the keys the variant reads (mean over rows; 1 for exact and "
                    "linear variants, which read every key); both on the sweep's random Gaussian inputs, where attention is "
                    "nearly uniform, so sparse variants look worse than on real data",
                    std::string(kDash) + " = skipped, no record, or not defined for the variant"};
  out.tables.push_back(std::move(speed));
  out.tables.push_back(std::move(memory));
  out.tables.push_back(std::move(accuracy));
}

// Decode (llama.cpp's report style): per setting, rows = variant x Nq, columns = context length
// Nk; one table of new tokens per second and one of % of the measured read bandwidth.
void add_decode_tables(const Grid& g, PresetOutput& out) {
  std::vector<long> nqs, nks;
  for (const auto& c : g.columns) {
    if (std::find(nqs.begin(), nqs.end(), c.first) == nqs.end()) nqs.push_back(c.first);
    if (std::find(nks.begin(), nks.end(), c.second) == nks.end()) nks.push_back(c.second);
  }
  std::sort(nqs.begin(), nqs.end());
  std::sort(nks.begin(), nks.end());
  std::vector<std::string> header{"variant", "Nq"};
  for (long nk : nks) header.push_back(seq_label(nk));
  Table tokens{"Decode: new tokens/s vs context length Nk, " + g.setting.describe(), {}, header, {}};
  Table bandwidth{"Decode: % of measured read bandwidth vs context length Nk, " + g.setting.describe(), {}, header, {}};
  for (const auto& v : g.variants)
    for (long nq : nqs) {
      std::vector<std::string> trow{v, std::to_string(nq)}, brow = trow;
      for (long nk : nks) {
        const CaseRecord* r = g.at(v, {nq, nk});
        if (!r || r->skipped) {
          trow.push_back(r ? skipped_cell(*r) : kDash), brow.push_back(trow.back());
          continue;
        }
        trow.push_back(r->tokens_per_s < 0 ? kDash : printf_string("%.0f", r->tokens_per_s));
        brow.push_back(r->pct_bandwidth < 0 ? kDash : printf_string("%.1f", r->pct_bandwidth));
      }
      tokens.rows.push_back(trow);
      bandwidth.rows.push_back(brow);
    }
  tokens.notes = {"tokens/s = batch x Nq new tokens per median forward (tokens_per_s); " + sources_note(g),
                  "OOM = skipped for lack of memory; " + std::string(kDash) + " = skipped for another reason or no record"};
  bandwidth.notes = {"bytes of Q, K, V and O over the median time, against `attnbench peak --bandwidth` for the same threads"};
  out.tables.push_back(std::move(tokens));
  out.tables.push_back(std::move(bandwidth));
}

// Dynamic vs static sparsity (block_topk against window and bigbird at matched density): per
// setting, rows = N x variant (dense first, the reference), columns = what each variant's keys
// cost and keep. --inputs gaussian and local are separate settings, so separate tables.
void add_dynamic_table(const Grid& g, PresetOutput& out) {
  Table t{"Dynamic vs static sparsity, " + g.setting.describe(), {},
          {"N", "variant", "density", "ms", "select %", "% dense rate", "mass_recall", "recall min"}, {}};
  auto number = [](double x, const char* fmt) { return x < 0 ? std::string(kDash) : printf_string(fmt, x); };
  for (const auto& c : g.columns)
    for (const auto& v : g.variants) {
      const CaseRecord* r = g.at(v, c);
      std::vector<std::string> row{column_label(c), v};
      if (!r || r->skipped) {
        row.resize(t.header.size(), r ? skipped_cell(*r) : kDash);
        t.rows.push_back(row);
        continue;
      }
      row.push_back(number(r->density, "%.4f"));
      row.push_back(format_ms(r->time_ms));
      row.push_back(r->select_share < 0 ? std::string(kDash) : printf_string("%.1f%%", 100 * r->select_share));
      row.push_back(relative_cell(g, v, c, [](const CaseRecord& d, const CaseRecord& x) {
        return d.gflops > 0 && x.gflops >= 0 ? printf_string("%.0f%%", 100 * x.gflops / d.gflops) : std::string(kDash);
      }));
      row.push_back(number(r->mass_recall, "%.3f"));
      row.push_back(number(r->mass_recall_min, "%.3f"));
      t.rows.push_back(row);
    }
  t.notes = {"density = visible (query, key) pairs / (Nq Nk); ms = median (time_ms); select % = the per-call block "
             "selection's share of it (select_share: the selection timed alone, median); % dense rate = 100 x useful "
             "GFLOP/s (visible pairs only) / dense's at the same N; " + sources_note(g),
             "mass_recall = share of exact dense softmax mass on the keys the variant reads (mean and min over the "
             "sampled rows, on this table's inputs); " + std::string(kDash) + " = skipped or no record"};
  out.tables.push_back(std::move(t));
}

// The flat table's columns: the setting, the cell, then the preset's quantities.
std::vector<std::string> flat_header(const std::string& preset) {
  std::vector<std::string> h = flat_header_start();
  if (preset == "lra")
    h.insert(h.end(), {"time_ms", "speed_vs_dense", "workspace_bytes", "workspace_vs_dense", "approx_err", "mass_recall",
                       "paper_model", "paper_speed_vs_transformer", "paper_memory_vs_transformer"});
  else if (preset == "decode") h.insert(h.end(), {"tokens_per_s", "pct_bandwidth"});
  else h.insert(h.end(), {"density", "time_ms", "select_share", "pct_dense_rate", "mass_recall", "mass_recall_min"});
  return h;
}

void add_flat_rows(const Grid& g, const std::string& preset, Table& flat) {
  for (const auto& v : g.variants)
    for (const auto& c : g.columns) {
      const CaseRecord* r = g.measured(v, c);
      const CaseRecord* d = g.measured("dense", c);
      const bool ok = r, vs_dense = r && d;
      std::vector<std::string> row = flat_row_start(g.setting, v, c, g.at(v, c));
      if (preset == "lra") {
        row.push_back(flat_number(ok, ok ? r->time_ms : 0));
        row.push_back(flat_number(vs_dense, vs_dense ? d->time_ms / r->time_ms : 0));
        row.push_back(flat_number(ok, ok ? r->workspace_bytes : 0));
        row.push_back(flat_number(vs_dense && d->workspace_bytes > 0, vs_dense ? r->workspace_bytes / d->workspace_bytes : 0));
        row.push_back(flat_number(ok && r->approx_err >= 0, ok ? r->approx_err : 0));
        row.push_back(flat_number(ok && r->mass_recall >= 0, ok ? r->mass_recall : 0));
        const LraPaperRow* paper = lra_paper_row(v);
        const int k = lra_paper_column(c.first, c.second);
        row.push_back(paper ? paper->model : "");
        row.push_back(flat_number(paper && k >= 0, paper && k >= 0 ? paper->speed[k] : 0));
        row.push_back(flat_number(paper && k >= 0, paper && k >= 0 ? paper->memory_gb[k] / lra_paper_transformer().memory_gb[k] : 0));
      } else if (preset == "decode") {
        row.push_back(flat_number(ok && r->tokens_per_s >= 0, ok ? r->tokens_per_s : 0));
        row.push_back(flat_number(ok && r->pct_bandwidth >= 0, ok ? r->pct_bandwidth : 0));
      } else {  // dynamic
        row.push_back(flat_number(ok && r->density >= 0, ok ? r->density : 0));
        row.push_back(flat_number(ok, ok ? r->time_ms : 0));
        row.push_back(flat_number(ok && r->select_share >= 0, ok ? r->select_share : 0));
        const bool rate = vs_dense && r->gflops >= 0 && d->gflops > 0;
        row.push_back(flat_number(rate, rate ? 100 * r->gflops / d->gflops : 0));
        row.push_back(flat_number(ok && r->mass_recall >= 0, ok ? r->mass_recall : 0));
        row.push_back(flat_number(ok && r->mass_recall_min >= 0, ok ? r->mass_recall_min : 0));
      }
      flat.rows.push_back(std::move(row));
    }
}

}  // namespace

std::string seq_label(long n) {
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n / 1024) + "k";
  if (n >= 1024 && n % 512 == 0) return printf_string("%.1fk", n / 1024.0);
  return std::to_string(n);
}

const std::vector<std::string>& table_preset_names() {
  static const std::vector<std::string> names{"lra", "flash", "decode", "dynamic", "precision"};
  return names;
}

PresetOutput build_preset_tables(const std::string& preset, const std::vector<CaseRecord>& records) {
  const auto& names = table_preset_names();
  if (std::find(names.begin(), names.end(), preset) == names.end())
    throw UserError("unknown preset '" + preset + "' (choose lra, flash, decode, dynamic or precision)");
  if (records.empty()) throw UserError("no records to tabulate");
  PresetOutput out;
  const std::vector<Grid> grids = group_into_grids(records, out.problems);
  // flash and precision lay several settings out in one table (passes; dtypes and head sizes).
  if (preset == "flash") {
    add_flash_tables(grids, out);
    return out;
  }
  if (preset == "precision") {
    add_precision_tables(grids, out);
    return out;
  }
  out.flat.header = flat_header(preset);
  for (const Grid& g : grids) {
    if (preset == "lra") add_lra_tables(g, out);
    else if (preset == "decode") add_decode_tables(g, out);
    else add_dynamic_table(g, out);
    add_flat_rows(g, preset, out.flat);
  }
  return out;
}

}  // namespace attn
