#include "table_presets.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "errors.hpp"

namespace attn {

namespace {

const char* kDash = "—";

// Every case parameter but the variant and N: records that differ in any of them (e.g. --inputs
// local and gaussian) land in different tables, never in one cell as "duplicates".
struct Setting {
  long batch, heads, kv_heads, head_dim, threads;
  bool causal;
  std::string isa, dtype, pass, inputs, lens;
  auto key() const { return std::tie(batch, heads, kv_heads, head_dim, causal, threads, isa, dtype, pass, inputs, lens); }
  bool operator<(const Setting& o) const { return key() < o.key(); }
  // Defaults of the newer parameters are left out, so titles name only what is special.
  std::string describe() const {
    std::string s = "batch=" + std::to_string(batch) + " heads=" + std::to_string(heads) +
                    " kv_heads=" + std::to_string(kv_heads) + " head_dim=" + std::to_string(head_dim) +
                    " causal=" + std::to_string(causal) + " threads=" + std::to_string(threads) + " isa=" + isa;
    if (dtype != "f32") s += " dtype=" + dtype;
    if (pass != "fwd") s += " pass=" + pass;
    if (inputs != "gaussian") s += " inputs=" + inputs;
    if (!lens.empty()) s += " lens=" + lens;
    return s;
  }
};

Setting setting_of(const CaseRecord& r) {
  return {r.batch, r.heads, r.kv_heads, r.head_dim, r.threads, r.causal, r.isa, r.dtype, r.pass, r.inputs, r.lens};
}

using Column = std::pair<long, long>;  // (seq_q, seq_kv)

std::string column_label(const Column& c) {
  return c.first == c.second ? seq_label(c.second) : seq_label(c.first) + "x" + seq_label(c.second);
}

// Every number in a table goes through here: one that is not finite (a ratio over a tiny
// time, say) is shown as a dash, never as "inf" or "nan".
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

// One setting's records as a grid: variants in first-seen order (dense first), columns by N.
struct Grid {
  Setting setting;
  std::vector<std::string> variants;
  std::vector<Column> columns;
  std::map<std::pair<std::string, Column>, const CaseRecord*> cells;
  std::size_t records = 0;
  std::set<std::string> files;

  const CaseRecord* at(const std::string& variant, const Column& c) const {
    auto it = cells.find({variant, c});
    return it == cells.end() ? nullptr : it->second;
  }
};

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
      if (s.isa != "any" && !(t < setting_of(r)) && !(setting_of(r) < t)) matches.push_back(s);
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

std::vector<std::string> header_for(const Grid& g, const std::string& corner) {
  std::vector<std::string> h{corner};
  for (const auto& c : g.columns) h.push_back(column_label(c));
  return h;
}

std::string sources_note(const Grid& g) {
  std::string files;
  for (const auto& f : g.files) files += (files.empty() ? "" : ", ") + f;
  return std::to_string(g.records) + " records from " + files;
}

// Ratio cell against the dense record of the same column; `value` picks the quantity.
template <class Ratio>
std::string relative_cell(const Grid& g, const std::string& variant, const Column& c, Ratio ratio) {
  const CaseRecord* r = g.at(variant, c);
  if (!r) return kDash;
  if (r->skipped) return skipped_cell(*r);
  const CaseRecord* dense = g.at("dense", c);
  if (!dense || dense->skipped) return kDash;
  return ratio(*dense, *r);
}

void add_lra_tables(const Grid& g, PresetOutput& out) {
  Table speed{"Speed relative to dense (dense time / variant time), " + g.setting.describe(), {}, header_for(g, "variant"), {}};
  Table memory{"Workspace relative to dense (variant bytes / dense bytes), " + g.setting.describe(), {}, header_for(g, "variant"), {}};
  bool dense_workspace_zero = false;
  for (const auto& v : g.variants) {
    std::vector<std::string> srow{v}, mrow{v};
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
    speed.rows.push_back(srow);
    memory.rows.push_back(mrow);
  }
  if (std::find(g.variants.begin(), g.variants.end(), "dense") == g.variants.end())
    out.problems.push_back("lra: no dense records (" + g.setting.describe() + "); every ratio is " + std::string(kDash));
  speed.notes = {"time = median over repetitions (time_ms); " + sources_note(g),
                 std::string(kDash) + " = skipped (e.g. over --max-case-time), no record, no dense record for that N, or a ratio too large " +
                     "to print; " +
                     "OOM = skipped for lack of memory"};
  memory.notes = {"workspace_bytes as recorded by the sweep; " + sources_note(g)};
  if (dense_workspace_zero) memory.notes.push_back("dense reported 0 workspace bytes: those cells are absolute MiB");
  out.tables.push_back(std::move(speed));
  out.tables.push_back(std::move(memory));
}

void add_flash_table(const Grid& g, PresetOutput& out) {
  Table t{"Runtime (ms, median) vs sequence length, " + g.setting.describe(), {}, header_for(g, "variant"), {}};
  for (const auto& v : g.variants) {
    std::vector<std::string> row{v};
    for (const auto& c : g.columns) {
      const CaseRecord* r = g.at(v, c);
      row.push_back(!r ? kDash : r->skipped ? skipped_cell(*r) : format_ms(r->time_ms));
    }
    t.rows.push_back(row);
  }
  t.notes = {"time = median over repetitions (time_ms); " + sources_note(g),
             "OOM = skipped for lack of memory; " + std::string(kDash) + " = skipped for another reason (e.g. over --max-case-time) or no record"};
  out.tables.push_back(std::move(t));
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
          {"N", "variant", "density", "ms", "% dense rate", "mass_recall", "recall min"}, {}};
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
      row.push_back(relative_cell(g, v, c, [](const CaseRecord& d, const CaseRecord& x) {
        return d.gflops > 0 && x.gflops >= 0 ? printf_string("%.0f%%", 100 * x.gflops / d.gflops) : std::string(kDash);
      }));
      row.push_back(number(r->mass_recall, "%.3f"));
      row.push_back(number(r->mass_recall_min, "%.3f"));
      t.rows.push_back(row);
    }
  t.notes = {"density = visible (query, key) pairs / (Nq Nk); ms = median (time_ms); % dense rate = 100 x useful GFLOP/s "
             "(visible pairs only) / dense's at the same N; " + sources_note(g),
             "mass_recall = share of exact dense softmax mass on the keys the variant reads (mean and min over the "
             "sampled rows, on this table's inputs); " + std::string(kDash) + " = skipped or no record"};
  out.tables.push_back(std::move(t));
}

// The flat table's columns: the setting, the cell, then the preset's quantities.
std::vector<std::string> flat_header(const std::string& preset) {
  std::vector<std::string> h{"batch", "heads", "kv_heads", "head_dim", "causal", "threads", "isa", "dtype", "pass",
                             "inputs", "lens", "variant", "seq_q", "seq_kv", "status"};
  if (preset == "lra") h.insert(h.end(), {"time_ms", "speed_vs_dense", "workspace_bytes", "workspace_vs_dense"});
  else if (preset == "decode") h.insert(h.end(), {"tokens_per_s", "pct_bandwidth"});
  else if (preset == "dynamic")
    h.insert(h.end(), {"density", "time_ms", "pct_dense_rate", "mass_recall", "mass_recall_min"});
  else h.push_back("time_ms");
  return h;
}

// A plain number for CSV, or an empty cell when there is none (or it is not finite).
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

void add_flat_rows(const Grid& g, const std::string& preset, Table& flat) {
  const Setting& s = g.setting;
  for (const auto& v : g.variants)
    for (const auto& c : g.columns) {
      const CaseRecord* r = g.at(v, c);
      const CaseRecord* d = g.at("dense", c);
      const bool ok = r && !r->skipped, vs_dense = ok && d && !d->skipped;
      std::vector<std::string> row{std::to_string(s.batch), std::to_string(s.heads), std::to_string(s.kv_heads),
                                   std::to_string(s.head_dim), s.causal ? "1" : "0", std::to_string(s.threads), s.isa,
                                   s.dtype, s.pass, s.inputs, s.lens, v, std::to_string(c.first), std::to_string(c.second), flat_status(r)};
      if (preset == "lra") {
        row.push_back(flat_number(ok, ok ? r->time_ms : 0));
        row.push_back(flat_number(vs_dense, vs_dense ? d->time_ms / r->time_ms : 0));
        row.push_back(flat_number(ok, ok ? r->workspace_bytes : 0));
        row.push_back(flat_number(vs_dense && d->workspace_bytes > 0, vs_dense ? r->workspace_bytes / d->workspace_bytes : 0));
      } else if (preset == "decode") {
        row.push_back(flat_number(ok && r->tokens_per_s >= 0, ok ? r->tokens_per_s : 0));
        row.push_back(flat_number(ok && r->pct_bandwidth >= 0, ok ? r->pct_bandwidth : 0));
      } else if (preset == "dynamic") {
        row.push_back(flat_number(ok && r->density >= 0, ok ? r->density : 0));
        row.push_back(flat_number(ok, ok ? r->time_ms : 0));
        const bool rate = vs_dense && r->gflops >= 0 && d->gflops > 0;
        row.push_back(flat_number(rate, rate ? 100 * r->gflops / d->gflops : 0));
        row.push_back(flat_number(ok && r->mass_recall >= 0, ok ? r->mass_recall : 0));
        row.push_back(flat_number(ok && r->mass_recall_min >= 0, ok ? r->mass_recall_min : 0));
      } else {
        row.push_back(flat_number(ok, ok ? r->time_ms : 0));
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
  static const std::vector<std::string> names{"lra", "flash", "decode", "dynamic"};
  return names;
}

PresetOutput build_preset_tables(const std::string& preset, const std::vector<CaseRecord>& records) {
  const auto& names = table_preset_names();
  if (std::find(names.begin(), names.end(), preset) == names.end())
    throw UserError("unknown preset '" + preset + "' (choose lra, flash, decode or dynamic)");
  if (records.empty()) throw UserError("no records to tabulate");
  PresetOutput out;
  out.flat.header = flat_header(preset);
  for (const Grid& g : group_into_grids(records, out.problems)) {
    if (preset == "lra") add_lra_tables(g, out);
    else if (preset == "decode") add_decode_tables(g, out);
    else if (preset == "dynamic") add_dynamic_table(g, out);
    else add_flash_table(g, out);
    add_flat_rows(g, preset, out.flat);
  }
  return out;
}

}  // namespace attn
